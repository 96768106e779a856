//go:build linux

package main

import (
	"errors"
	"flag"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestHelpGoesToStdoutAndSucceeds(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		var out strings.Builder
		if err := run(args, &out, io.Discard); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if !strings.HasPrefix(out.String(), "Usage: pvesim <command>") || !strings.Contains(out.String(), "\n  serve ") {
			t.Fatalf("%v: %q", args, out.String())
		}
	}
}

// serve --help names every flag and documents every field of the JSON line,
// and nothing that is not a field.
func TestServeHelpDescribesEveryFlagAndJSONField(t *testing.T) {
	for _, args := range [][]string{{"serve", "--help"}, {"serve", "-h"}, {"help", "serve"}} {
		var out strings.Builder
		if err := run(args, &out, io.Discard); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		help := out.String()
		newServeFlags(io.Discard).fs.VisitAll(func(f *flag.Flag) {
			if !strings.Contains(help, "  -"+f.Name+" ") && !strings.Contains(help, "  -"+f.Name+"\n") {
				t.Errorf("%v: flag -%s not described", args, f.Name)
			}
		})
		for _, f := range infoFields {
			if !strings.Contains(help, "\n  "+f.name+" ") {
				t.Errorf("%v: JSON field %s not described", args, f.name)
			}
		}
	}
	var tags []string
	typ := reflect.TypeOf(Info{})
	for i := 0; i < typ.NumField(); i++ {
		if tag, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ","); tag != "" {
			tags = append(tags, tag)
		}
	}
	var documented []string
	for _, f := range infoFields {
		documented = append(documented, f.name)
	}
	if !reflect.DeepEqual(tags, documented) {
		t.Fatalf("Info's JSON fields %v, documented %v", tags, documented)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{nil, "no command given"},
		{[]string{"start"}, `unknown command "start"`},
		{[]string{"serve", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"serve", "extra"}, `serve takes no arguments, got ["extra"]`},
		{[]string{"serve", "--real-guests=false", "--ssh-listen", "127.0.0.1:0"}, "--ssh-listen needs real guests"},
	} {
		var out strings.Builder
		err := run(tc.args, &out, io.Discard)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(ue.msg, tc.msg) || ue.usage == "" || out.Len() != 0 {
			t.Errorf("%v: want usage error %q, got %v (stdout %q)", tc.args, tc.msg, err, out.String())
		}
	}
}
