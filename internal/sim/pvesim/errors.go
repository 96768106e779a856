//go:build linux

package pvesim

import (
	"fmt"
	"strings"
)

// apiError is a failed request as pve-http-server reports it: an HTTP status,
// a message (also the reason phrase) and, for 400, the per-parameter map.
type apiError struct {
	Status int
	Msg    string
	Errors map[string]string
}

func (e *apiError) Error() string { return e.Msg }

// die mirrors a Perl `die "...\n"` in a PVE API handler: HTTP 500 with the text.
func die(format string, args ...any) error {
	return &apiError{Status: 500, Msg: fmt.Sprintf(format, args...)}
}

// paramErr mirrors raise_param_exc: 400 with the errors map.
func paramErr(errs map[string]string) error {
	return &apiError{Status: 400, Msg: "Parameter verification failed.", Errors: errs}
}

// permErr mirrors raise_perm_exc: 403 "Permission check failed (what)".
func permErr(what string) error {
	msg := "Permission check failed"
	if what != "" {
		msg += " (" + what + ")"
	}
	return &apiError{Status: 403, Msg: msg}
}

func asAPIError(err error) *apiError {
	if ae, ok := err.(*apiError); ok {
		return ae
	}
	return &apiError{Status: 500, Msg: err.Error()}
}

// reasonPhrase is the first line of a message, as pve-http-server puts it in
// the HTTP status line.
func reasonPhrase(msg string) string {
	msg = strings.TrimRight(msg, "\n")
	if i := strings.IndexAny(msg, "\r\n"); i >= 0 {
		msg = msg[:i]
	}
	return msg
}

// assertUnmodified is PVE::Tools::assert_if_modified: a digest given with
// the request must be the one of the config it edits.
func assertUnmodified(r *request, digest string) error {
	if d := r.str("digest"); d != "" && d != digest {
		return die("detected modified configuration - file changed by other user? Try again.")
	}
	return nil
}
