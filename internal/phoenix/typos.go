package phoenix

import "sort"

// Sub-keys of the objects the model reads whole; an unknown one is dropped,
// so a typo there would silently lose a setting.
var (
	networkKeys     = setOf("name", "bridge", "ip", "gw", "nameservers", "search_domain")
	firewallKeys    = setOf("enabled", "rules")
	ruleKeys        = setOf("type", "action", "source", "dest", "proto", "port", "comment")
	volumeKeys      = setOf("name", "pool", "size_gb", "mount_point")
	healthCheckKeys = setOf("command", "retries", "interval")
)

// maxTypoDistance is how far (in edits) an unknown key may be from a known
// one to be reported as its likely typo: memroy_mb is 1 from memory_mb.
const maxTypoDistance = 2

// keySet is the known keys of one kind of object, sorted for stable guesses.
type keySet struct {
	known  map[string]bool
	sorted []string
}

func keysOf(sets ...map[string]bool) *keySet {
	ks := &keySet{known: map[string]bool{}}
	for _, set := range sets {
		for k := range set {
			if !ks.known[k] {
				ks.known[k] = true
				ks.sorted = append(ks.sorted, k)
			}
		}
	}
	sort.Strings(ks.sorted)
	return ks
}

// nearKey caches a guess per key set and key.
type nearKey struct {
	set *keySet
	key string
}

var (
	lxcEntryKeys = keysOf(commonKeys, lxcKeys, setOf("tests", "cloud_init", "user_config"))
	vmEntryKeys  = keysOf(commonKeys, vmKeys, setOf("tests"))
	networkSet   = keysOf(networkKeys)
	firewallSet  = keysOf(firewallKeys)
	ruleSet      = keysOf(ruleKeys)
	volumeSet    = keysOf(volumeKeys)
	healthSet    = keysOf(healthCheckKeys)
)

// checkTypos warns about every key of s that is not known but lies within
// maxTypoDistance of a known key, naming that key. Unknown keys far from
// every known key are deliberate (vllm_*, portainer_role) and stay silent.
// fate says what happens to the key ("kept in extra_json", "ignored").
func checkTypos(s scope, fate string, ks *keySet) {
	for _, m := range s.obj.kids() {
		if ks.known[m.key] {
			continue
		}
		// The same extra keys recur in every entry (vllm_*): guess once per file.
		nk := nearKey{ks, m.key}
		near, ok := s.f.near[nk]
		if !ok {
			near = ks.nearest(m.key)
			if s.f.near == nil {
				s.f.near = map[nearKey]string{}
			}
			s.f.near[nk] = near
		}
		if near != "" {
			s.warnf(m.value, m.key, "unknown key %q: did you mean %q? (%s)", m.key, near, fate)
		}
	}
}

// nearest returns the known key closest to key within maxTypoDistance (the
// alphabetically first on a tie), or "". Keys shorter than four characters
// are never guessed: everything is two edits from "ip".
func (ks keySet) nearest(key string) string {
	if len(key) < 4 {
		return ""
	}
	best, bestDist := "", maxTypoDistance+1
	for _, c := range ks.sorted {
		if len(c) < 4 {
			continue
		}
		if d := editDistance(key, c, bestDist); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// maxKeyLen bounds the keys compared, so editDistance works in fixed-size
// rows on the stack: ingestion of a 5,000-guest estate compares hundreds of
// thousands of key pairs.
const maxKeyLen = 63

// editDistance is the optimal-string-alignment distance (insertions,
// deletions, substitutions and adjacent transpositions), or limit when it
// is at least limit (or a key is longer than maxKeyLen).
func editDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d >= limit || -d >= limit || len(a) > maxKeyLen || len(b) > maxKeyLen {
		return limit
	}
	var rows [3][maxKeyLen + 1]int
	prev2, prev, cur := &rows[0], &rows[1], &rows[2]
	for j := 0; j <= len(b); j++ {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin >= limit {
			return limit
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[len(b)], limit)
}
