package provision

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestSecretsNeverReachLogsOrErrors(t *testing.T) {
	const pw = "hunter2-S3cret!"
	key := "-----BEGIN KEY-----\nAAAAsecretkeyline1\nBBBBsecretkeyline2\n-----END KEY-----"
	g := newFake()
	g.scripts["phoenix_hypervisor_feature_install_db.sh"] = func(ctx context.Context, req ExecRequest, out LineSink) (ExecResult, error) {
		out(Stdout, "+ mysql -u root -p"+pw+" -e 'CREATE USER'")
		out(Stdout, "key line: BBBBsecretkeyline2")
		out(Stderr, "ERROR 1045: Access denied (using password: "+pw+")")
		return ExecResult{ExitCode: 1}, nil
	}
	spec := baseSpec(feature("db", "x"))
	spec.Secrets = []string{pw, key, ""}
	spec.Env = map[string]string{"DB_PASSWORD": pw}
	var logs logSink
	_, err := Run(context.Background(), g, nil, spec, nil, logs.log)
	if err == nil {
		t.Fatal("want a failure")
	}
	for what, text := range map[string]string{"log": logs.text(), "error": err.Error()} {
		for _, secret := range []string{pw, "AAAAsecretkeyline1", "BBBBsecretkeyline2"} {
			if strings.Contains(text, secret) {
				t.Errorf("%s leaks %q:\n%s", what, secret, text)
			}
		}
		if !strings.Contains(text, "password: "+Redacted) {
			t.Errorf("%s does not show the redaction marker:\n%s", what, text)
		}
	}
	// The secret still reaches the script itself.
	if g.lastExec(t, "phoenix_hypervisor_feature_install_db.sh").Req.Env["DB_PASSWORD"] != pw {
		t.Error("Spec.Env not passed to the script")
	}

	// Transport errors are redacted too (an SSH error may echo the command line).
	g.scripts["phoenix_hypervisor_feature_install_db.sh"] = func(ctx context.Context, req ExecRequest, out LineSink) (ExecResult, error) {
		return ExecResult{}, errors.New("ssh: command `env DB_PASSWORD=" + pw + " bash` failed")
	}
	logs = logSink{}
	_, err = Run(context.Background(), g, nil, spec, nil, logs.log)
	if err == nil || strings.Contains(err.Error(), pw) || strings.Contains(logs.text(), pw) || !strings.Contains(err.Error(), "DB_PASSWORD="+Redacted) {
		t.Fatalf("transport error not redacted: %v\n%s", err, logs.text())
	}
}

func TestRedactorLongestFirst(t *testing.T) {
	r := newRedactor([]string{"abc", "abcdef"})
	if got := r.apply("x abcdef y abc"); got != "x "+Redacted+" y "+Redacted {
		t.Fatalf("got %q", got)
	}
}
