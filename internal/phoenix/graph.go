package phoenix

import (
	"sort"
	"strconv"
	"strings"
)

// crossCheck validates what involves more than one guest: names, clone
// sources, dependencies and cycles.
func (b *builder) crossCheck() {
	names := map[string]*Guest{}
	for _, g := range b.estate.Guests {
		s := b.src[g.ID]
		if g.Name != "" {
			if prev, ok := names[g.Name]; ok {
				s.errorf(s.value("name"), "name", "name %q is already used by %s %d (%s)", g.Name, kindLabel(prev.Kind), prev.ID, prev.Source.Path)
			} else {
				names[g.Name] = g
			}
		}
		if g.CloneFrom != nil {
			key := "clone_from_ctid"
			if g.Kind == KindVM {
				key = "clone_from_vmid"
			}
			src, ok := b.byID[*g.CloneFrom]
			switch {
			case !ok:
				s.errorf(s.value(key), key, "clone source %d is not defined", *g.CloneFrom)
			case src.Kind != g.Kind:
				s.errorf(s.value(key), key, "clone source %d is a %s, not a %s", *g.CloneFrom, kindLabel(src.Kind), kindLabel(g.Kind))
			case *g.CloneFrom == g.ID:
				s.errorf(s.value(key), key, "a guest cannot be cloned from itself")
			default:
				g.CloneSnapshot = src.TemplateSnapshot
				if src.IsTemplate && src.Kind == KindVM {
					g.CloneSnapshot = "" // a template is cloned as it is
				}
			}
		}
		for i, d := range g.Dependencies {
			if _, ok := b.byID[d]; !ok {
				v := s.value("dependencies").kids()[i].value
				s.f.report(v, indexPath(s.at("dependencies"), i), false, "dependency "+strconv.Itoa(d)+" is not defined")
			}
		}
	}
	for _, cycle := range b.cycles() {
		g := b.byID[cycle[0]]
		s := b.src[g.ID]
		parts := make([]string, len(cycle))
		for i, id := range cycle {
			parts[i] = strconv.Itoa(id)
		}
		key := "dependencies"
		if s.value(key) == nil {
			key = "clone_from_ctid"
			if g.Kind == KindVM {
				key = "clone_from_vmid"
			}
		}
		s.errorf(s.value(key), key, "dependency cycle: %s", strings.Join(parts, " -> "))
	}
}

// edges returns the IDs a guest waits for: its clone source and dependencies.
func (b *builder) edges(g *Guest) []int {
	var out []int
	if g.CloneFrom != nil {
		if _, ok := b.byID[*g.CloneFrom]; ok && *g.CloneFrom != g.ID {
			out = append(out, *g.CloneFrom)
		}
	}
	for _, d := range g.Dependencies {
		if _, ok := b.byID[d]; ok && !containsInt(out, d) {
			out = append(out, d)
		}
	}
	return out
}

func containsInt(xs []int, x int) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

// cycles finds each dependency cycle once, as a path that returns to its start.
func (b *builder) cycles() [][]int {
	const (
		white = iota
		grey
		black
	)
	color := map[int]int{}
	var stack []int
	var found [][]int
	var visit func(id int)
	visit = func(id int) {
		color[id] = grey
		stack = append(stack, id)
		for _, next := range b.edges(b.byID[id]) {
			switch color[next] {
			case white:
				visit(next)
			case grey:
				i := len(stack) - 1
				for stack[i] != next {
					i--
				}
				cycle := append(append([]int{}, stack[i:]...), next)
				found = append(found, cycle)
			}
		}
		stack = stack[:len(stack)-1]
		color[id] = black
	}
	for _, g := range b.estate.Guests {
		if color[g.ID] == white {
			visit(g.ID)
		}
	}
	return found
}

// tiers layers guests so each one's clone source and dependencies sit in an
// earlier tier. Guests on a cycle are left out (the cycle is an error).
func (b *builder) tiers() [][]int {
	level := map[int]int{}
	const onPath = -1
	var depth func(id int) int
	depth = func(id int) int {
		if l, ok := level[id]; ok {
			return l
		}
		level[id] = onPath
		l := 0
		for _, e := range b.edges(b.byID[id]) {
			d := depth(e)
			if d == onPath {
				level[id] = onPath
				return onPath
			}
			if d+1 > l {
				l = d + 1
			}
		}
		level[id] = l
		return l
	}
	var out [][]int
	for _, g := range b.estate.Guests {
		l := depth(g.ID)
		if l == onPath {
			continue
		}
		for len(out) <= l {
			out = append(out, nil)
		}
		out[l] = append(out[l], g.ID)
	}
	for _, t := range out {
		sort.Ints(t)
	}
	return out
}
