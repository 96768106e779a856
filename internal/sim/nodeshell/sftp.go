package nodeshell

import (
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// The node's sftp subsystem, as OpenSSH's sftp-server offers it to root:
// the node's root filesystem, starting in /root. Every access goes through
// os.Root, so no path or symlink leads out of the node's root. /etc/pve is
// synced before the session and after every file written, so a conf file
// uploaded over sftp takes effect as one written by a shell.

// serveSFTP serves one sftp subsystem session on ch.
func (s *Server) serveSFTP(node string, ch ssh.Channel) {
	s.syncReport(node, ch.Stderr())
	dir, err := s.cfg.Cluster.NodeRoot(node)
	if err != nil {
		_, _ = io.WriteString(ch.Stderr(), "nodeshell: "+err.Error()+"\n")
		return
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		_, _ = io.WriteString(ch.Stderr(), "nodeshell: "+err.Error()+"\n")
		return
	}
	defer root.Close()
	h := &sftpRoot{root: root, written: func() { s.syncReport(node, ch.Stderr()) }}
	handlers := sftp.Handlers{FileGet: h, FilePut: h, FileCmd: h, FileList: h}
	srv := sftp.NewRequestServer(ch, handlers, sftp.WithStartDirectory("/root"))
	_ = srv.Serve()
	srv.Close()
	s.syncReport(node, ch.Stderr())
}

// sftpRoot implements pkg/sftp's request handlers on an os.Root.
type sftpRoot struct {
	root    *os.Root
	written func()
}

func rel(p string) string {
	r := strings.TrimPrefix(path.Clean("/"+p), "/")
	if r == "" {
		return "."
	}
	return r
}

func (h *sftpRoot) Fileread(r *sftp.Request) (io.ReaderAt, error) {
	return h.root.Open(rel(r.Filepath))
}

func (h *sftpRoot) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	fl := r.Pflags()
	flags := os.O_WRONLY
	if fl.Read {
		flags = os.O_RDWR
	}
	if fl.Creat {
		flags |= os.O_CREATE
	}
	if fl.Trunc {
		flags |= os.O_TRUNC
	}
	if fl.Excl {
		flags |= os.O_EXCL
	}
	if fl.Append {
		flags |= os.O_APPEND
	}
	f, err := h.root.OpenFile(rel(r.Filepath), flags, 0o644)
	if err != nil {
		return nil, err
	}
	return &syncedFile{File: f, onClose: h.written}, nil
}

// syncedFile is a file being uploaded; closing it syncs /etc/pve.
type syncedFile struct {
	*os.File
	onClose func()
}

func (f *syncedFile) Close() error {
	err := f.File.Close()
	f.onClose()
	return err
}

func (h *sftpRoot) Filecmd(r *sftp.Request) error {
	p := rel(r.Filepath)
	switch r.Method {
	case "Setstat":
		return h.setstat(p, r)
	case "Rename":
		if _, err := h.root.Lstat(rel(r.Target)); err == nil {
			return sftp.ErrSSHFxFailure // SSH_FXP_RENAME never replaces
		}
		return h.root.Rename(p, rel(r.Target))
	case "Rmdir", "Remove":
		return h.root.Remove(p)
	case "Mkdir":
		return h.root.Mkdir(p, 0o755)
	case "Symlink":
		// sftp's argument order: Filepath is the target, Target the link
		return h.root.Symlink(r.Filepath, rel(r.Target))
	case "Link":
		return h.root.Link(p, rel(r.Target))
	}
	return sftp.ErrSSHFxOpUnsupported
}

func (h *sftpRoot) setstat(p string, r *sftp.Request) error {
	a, fl := r.Attributes(), r.AttrFlags()
	if fl.Size {
		f, err := h.root.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		err = f.Truncate(int64(a.Size))
		f.Close()
		if err != nil {
			return err
		}
	}
	if fl.Permissions {
		if err := h.root.Chmod(p, a.FileMode()&fs.ModePerm); err != nil {
			return err
		}
	}
	if fl.UidGid {
		if err := h.root.Chown(p, int(a.UID), int(a.GID)); err != nil {
			return err
		}
	}
	if fl.Acmodtime {
		return h.root.Chtimes(p, a.AccessTime(), a.ModTime())
	}
	return nil
}

func (h *sftpRoot) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	p := rel(r.Filepath)
	switch r.Method {
	case "List":
		f, err := h.root.Open(p)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		entries, err := f.ReadDir(-1)
		if err != nil {
			return nil, err
		}
		infos := make([]os.FileInfo, 0, len(entries))
		for _, e := range entries {
			if fi, err := e.Info(); err == nil {
				infos = append(infos, fi)
			}
		}
		sort.Slice(infos, func(i, j int) bool { return infos[i].Name() < infos[j].Name() })
		return listerAt(infos), nil
	case "Stat":
		fi, err := h.root.Stat(p)
		if err != nil {
			return nil, err
		}
		return listerAt{fi}, nil
	}
	return nil, sftp.ErrSSHFxOpUnsupported
}

// Lstat and Readlink keep links as links.
func (h *sftpRoot) Lstat(r *sftp.Request) (sftp.ListerAt, error) {
	fi, err := h.root.Lstat(rel(r.Filepath))
	if err != nil {
		return nil, err
	}
	return listerAt{fi}, nil
}

func (h *sftpRoot) Readlink(p string) (string, error) { return h.root.Readlink(rel(p)) }

type listerAt []os.FileInfo

func (l listerAt) ListAt(out []os.FileInfo, off int64) (int, error) {
	if off >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(out, l[off:])
	if n < len(out) {
		return n, io.EOF
	}
	return n, nil
}
