package phoenix

import (
	"fmt"
	"os"
	"path/filepath"
)

// Script is a provisioning script resolved against phoenix's bin/ folder.
type Script struct {
	Name string // feature name, or the script's own name
	Path string // absolute path
}

// FeatureScriptPath is where phoenix keeps the install script of a feature:
// lxc_setup/phoenix_hypervisor_feature_install_X.sh for containers and
// vm_features/feature_install_X.sh for VMs, under features_dir.
func FeatureScriptPath(featuresDir string, kind Kind, feature string) string {
	if kind == KindVM {
		return filepath.Join(featuresDir, "vm_features", "feature_install_"+feature+".sh")
	}
	return filepath.Join(featuresDir, "lxc_setup", "phoenix_hypervisor_feature_install_"+feature+".sh")
}

// ApplicationScriptPath resolves application_script, which is relative to features_dir.
func ApplicationScriptPath(featuresDir, script string) string {
	if filepath.IsAbs(script) {
		return script
	}
	return filepath.Join(featuresDir, script)
}

// HealthCheckPath resolves a health check script, relative to features_dir/tests.
func HealthCheckPath(featuresDir, script string) string {
	if filepath.IsAbs(script) {
		return script
	}
	return filepath.Join(featuresDir, "tests", script)
}

// Scripts are one guest's resolved provisioning scripts.
type Scripts struct {
	// CommonUtils is phoenix_hypervisor_common_utils.sh when features_dir has it.
	CommonUtils  string
	Features     []Script
	Application  *Script
	HealthChecks []Script // in the order of Guest.HealthChecks; command checks have an empty Path
}

// ResolveScripts finds every guest's scripts under featuresDir. A script that
// does not exist is a problem naming the guest, the feature and the path
// looked at.
func ResolveScripts(e *Estate, featuresDir string) (map[int]Scripts, Problems) {
	abs, err := filepath.Abs(featuresDir)
	if err == nil {
		featuresDir = abs
	}
	out := make(map[int]Scripts, len(e.Guests))
	var probs Problems
	missing := func(g *Guest, key, what, path string) {
		probs = append(probs, Problem{File: g.Source.File, Path: joinPath(g.Source.Path, key),
			Msg: fmt.Sprintf("%s: script not found at %s", what, path)})
	}
	exists := func(p string) bool {
		st, err := os.Stat(p)
		return err == nil && st.Mode().IsRegular()
	}
	common := filepath.Join(featuresDir, "phoenix_hypervisor_common_utils.sh")
	if !exists(common) {
		common = ""
	}
	for _, g := range e.Guests {
		s := Scripts{CommonUtils: common}
		for _, f := range g.Features {
			if !ValidFeatureName(f) {
				continue // already reported by validation
			}
			p := FeatureScriptPath(featuresDir, g.Kind, f)
			if !exists(p) {
				missing(g, "features", fmt.Sprintf("feature %q", f), p)
			}
			s.Features = append(s.Features, Script{Name: f, Path: p})
		}
		if g.ApplicationScript != "" {
			p := ApplicationScriptPath(featuresDir, g.ApplicationScript)
			if !exists(p) {
				missing(g, "application_script", "application script", p)
			}
			s.Application = &Script{Name: filepath.Base(p), Path: p}
		}
		for _, hc := range g.HealthChecks {
			if hc.Path == "" {
				s.HealthChecks = append(s.HealthChecks, Script{Name: hc.Name})
				continue
			}
			p := HealthCheckPath(featuresDir, hc.Path)
			if !exists(p) {
				missing(g, "tests", fmt.Sprintf("health check %q", hc.Name), p)
			}
			s.HealthChecks = append(s.HealthChecks, Script{Name: hc.Name, Path: p})
		}
		out[g.ID] = s
	}
	return out, probs
}
