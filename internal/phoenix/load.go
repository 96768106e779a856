package phoenix

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// The file names phoenix uses; a config directory is searched for these.
const (
	HypervisorFileName = "phoenix_hypervisor_config.json"
	LXCFileName        = "phoenix_lxc_configs.json"
	VMFileName         = "phoenix_vm_configs.json"
)

// Sources says where the configuration files are: a directory searched by
// file name, explicit paths, or both (explicit paths win).
type Sources struct {
	Dir        string
	Hypervisor string
	LXC        string
	VM         string
}

// Input is the content of the configuration files, for callers that have
// them in memory. Names default to the phoenix file names.
type Input struct {
	Hypervisor, LXC, VM                []byte
	HypervisorName, LXCName, VMName    string
	HypervisorPath, LXCPath, VMPath    string
	hasHypervisor, hasLXC, hasVM, read bool
}

// Load reads and validates the configuration files. On any error it returns
// a Problems error listing every problem found, each naming its file and
// JSON path. Warnings are returned in Estate.Warnings.
func Load(src Sources) (*Estate, error) {
	in, err := readSources(src)
	if err != nil {
		return nil, err
	}
	return Parse(in)
}

func readSources(src Sources) (Input, error) {
	var in Input
	pick := func(explicit, name string) (string, bool) {
		if explicit != "" {
			return explicit, true
		}
		if src.Dir == "" {
			return "", false
		}
		return filepath.Join(src.Dir, name), false
	}
	var probs Problems
	read := func(explicit, name string, required bool) ([]byte, string, bool) {
		path, isExplicit := pick(explicit, name)
		if path == "" {
			if required {
				probs = append(probs, Problem{File: name, Msg: "no file given: set a config directory or the file's path"})
			}
			return nil, "", false
		}
		data, err := os.ReadFile(path)
		switch {
		case err == nil:
			return data, path, true
		case errors.Is(err, fs.ErrNotExist) && !required && !isExplicit:
			return nil, "", false
		case errors.Is(err, fs.ErrNotExist):
			probs = append(probs, Problem{File: filepath.Base(path), Msg: fmt.Sprintf("file not found: %s", path)})
		default:
			probs = append(probs, Problem{File: filepath.Base(path), Msg: fmt.Sprintf("cannot read %s: %v", path, err)})
		}
		return nil, "", false
	}
	in.Hypervisor, in.HypervisorPath, in.hasHypervisor = read(src.Hypervisor, HypervisorFileName, true)
	in.LXC, in.LXCPath, in.hasLXC = read(src.LXC, LXCFileName, false)
	in.VM, in.VMPath, in.hasVM = read(src.VM, VMFileName, false)
	in.read = true
	if len(probs) > 0 {
		return in, probs
	}
	return in, nil
}

// openFile parses one file; a file that is not a JSON object is a problem
// returned instead of a file.
func openFile(data []byte, name, path, def string, probs *[]Problem) (*file, *Problem) {
	if name == "" {
		name = def
		if path != "" {
			name = filepath.Base(path)
		}
	}
	root, err := parseJSON(data)
	if err != nil {
		var se *SyntaxError
		if !errors.As(err, &se) {
			return nil, &Problem{File: name, Msg: err.Error()}
		}
		return nil, &Problem{File: name, Line: se.Line, Column: se.Column, Msg: "malformed JSON: " + se.Msg}
	}
	if root.kind != kindObject {
		line, col := position(data, int(root.off))
		return nil, &Problem{File: name, Line: line, Column: col, Msg: "expected a JSON object at the top level, got " + root.describe()}
	}
	return &file{name: name, path: path, data: data, root: root, probs: probs}, nil
}

// Parse validates configuration held in memory. A nil LXC or VM slice means
// that file is absent. The Estate's strings share memory with the input:
// do not modify the byte slices after calling Parse.
func Parse(in Input) (*Estate, error) {
	if !in.read {
		in.hasHypervisor, in.hasLXC, in.hasVM = in.Hypervisor != nil, in.LXC != nil, in.VM != nil
	}
	var probs []Problem
	// A file that is not a JSON object is reported alone: everything read
	// from the other files would otherwise be checked against a half-read
	// estate and produce errors that only derive from the broken file.
	var unreadable Problems
	open := func(data []byte, name, path, def string) *file {
		f, p := openFile(data, name, path, def, &probs)
		if p != nil {
			unreadable = append(unreadable, *p)
		}
		return f
	}

	b := &builder{estate: &Estate{StorageIDs: map[string]string{}}, byID: map[int]*Guest{}}
	var hyp, lxc, vm *file
	if in.hasHypervisor {
		hyp = open(in.Hypervisor, in.HypervisorName, in.HypervisorPath, HypervisorFileName)
		b.estate.Files.Hypervisor = in.HypervisorPath
	} else {
		probs = append(probs, Problem{File: HypervisorFileName, Msg: "file is required"})
	}
	if in.hasLXC {
		lxc = open(in.LXC, in.LXCName, in.LXCPath, LXCFileName)
		b.estate.Files.LXC = in.LXCPath
	}
	if in.hasVM {
		vm = open(in.VM, in.VMName, in.VMPath, VMFileName)
		b.estate.Files.VM = in.VMPath
	}
	if len(unreadable) > 0 {
		sortProblems(unreadable)
		return b.estate, unreadable
	}

	if hyp != nil {
		b.readHypervisor(newScope(hyp, "", hyp.root))
	}
	if lxc != nil {
		b.readLXCFile(newScope(lxc, "", lxc.root))
	}
	if hyp != nil {
		b.readVMs(newScope(hyp, "", hyp.root))
	}
	if vm != nil {
		b.readVMs(newScope(vm, "", vm.root))
	}
	if hyp != nil {
		b.readSharedVolumes(newScope(hyp, "", hyp.root))
	}
	sort.Slice(b.estate.Guests, func(i, j int) bool { return b.estate.Guests[i].ID < b.estate.Guests[j].ID })
	b.crossCheck()
	b.estate.Tiers = b.tiers()

	var errs Problems
	for _, p := range probs {
		if p.Warning {
			b.estate.Warnings = append(b.estate.Warnings, p)
		} else {
			errs = append(errs, p)
		}
	}
	sortProblems(errs)
	sortProblems(b.estate.Warnings)
	if len(errs) > 0 {
		return b.estate, errs
	}
	return b.estate, nil
}
