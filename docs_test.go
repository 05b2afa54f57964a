package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// TestDocLinks: every relative link in README.md and docs/*.md names a file
// of the repository, and every #anchor a heading of its page, as GitHub
// renders them. Links that leave the repository (../…) fail too.
func TestDocLinks(t *testing.T) {
	t.Parallel()
	pages, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	pages = append([]string{"README.md"}, pages...)
	anchors := map[string]map[string]bool{} // page → its anchors, read once
	anchorsOf := func(page string) (map[string]bool, error) {
		if a, ok := anchors[page]; ok {
			return a, nil
		}
		b, err := os.ReadFile(page)
		if err != nil {
			return nil, err
		}
		a := headingAnchors(string(b))
		anchors[page] = a
		return a, nil
	}
	links := 0
	for _, page := range pages {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range docLinks(string(b)) {
			links++
			where := page + ":" + strconv.Itoa(l.line)
			file, frag, _ := strings.Cut(l.target, "#")
			target := page
			if file != "" {
				target = filepath.Join(filepath.Dir(page), filepath.FromSlash(file))
				if rel, err := filepath.Rel(".", target); err != nil || strings.HasPrefix(rel, "..") {
					t.Errorf("%s: %s leaves the repository", where, l.target)
					continue
				}
				if _, err := os.Stat(target); err != nil {
					t.Errorf("%s: %s: no such file", where, l.target)
					continue
				}
			}
			if frag == "" {
				continue
			}
			if !strings.HasSuffix(target, ".md") {
				t.Errorf("%s: %s: an anchor into a file that is not markdown", where, l.target)
				continue
			}
			a, err := anchorsOf(target)
			if err != nil {
				t.Errorf("%s: %s: %v", where, l.target, err)
				continue
			}
			if !a[frag] {
				t.Errorf("%s: %s: %s has no heading with the anchor #%s", where, l.target, target, frag)
			}
		}
	}
	if links < 20 {
		t.Errorf("found only %d relative links in %d pages: is the link pattern still right?", links, len(pages))
	}
}

type docLink struct {
	line   int
	target string
}

var (
	linkRE     = regexp.MustCompile(`\]\(([^()\s]+)(?:\s+"[^"]*")?\)`)
	codeSpanRE = regexp.MustCompile("`+[^`]*`+")
	schemeRE   = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
	headingRE  = regexp.MustCompile(`^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$`)
	mdLinkRE   = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
)

// eachProse calls f with every line outside fenced code blocks.
func eachProse(md string, f func(n int, line string)) {
	fence := ""
	for i, line := range strings.Split(md, "\n") {
		trimmed := strings.TrimLeft(line, " ")
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			continue
		}
		f(i+1, line)
	}
}

// docLinks returns the relative links of a markdown page: inline links and
// images outside code, without those that name a scheme (https:, mailto:).
func docLinks(md string) []docLink {
	var out []docLink
	eachProse(md, func(n int, line string) {
		line = codeSpanRE.ReplaceAllString(line, "")
		for _, m := range linkRE.FindAllStringSubmatch(line, -1) {
			if !schemeRE.MatchString(m[1]) {
				out = append(out, docLink{n, m[1]})
			}
		}
	})
	return out
}

// headingAnchors returns the anchors GitHub gives a page's headings: the
// text as rendered, lower case, without punctuation, spaces as hyphens, and
// -1, -2, … after a repeated one.
func headingAnchors(md string) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	eachProse(md, func(_ int, line string) {
		m := headingRE.FindStringSubmatch(line)
		if m == nil {
			return
		}
		text := strings.ToLower(mdLinkRE.ReplaceAllString(m[2], "$1"))
		var b strings.Builder
		for _, r := range text {
			switch {
			case unicode.IsLetter(r), unicode.IsNumber(r), unicode.IsMark(r), r == '_', r == '-':
				b.WriteRune(r)
			case r == ' ':
				b.WriteByte('-')
			}
		}
		a := b.String()
		if n := seen[a]; n > 0 {
			seen[a] = n + 1
			a += "-" + strconv.Itoa(n)
		} else {
			seen[a] = 1
		}
		anchors[a] = true
	})
	return anchors
}

// TestHeadingAnchors pins the anchor rule to what GitHub makes of headings
// this repository has had.
func TestHeadingAnchors(t *testing.T) {
	t.Parallel()
	for heading, want := range map[string]string{
		"## The stream: `GET /events`":                      "the-stream-get-events",
		"### `tickertape bench` — SSE against WebSocket":    "tickertape-bench--sse-against-websocket",
		"## SSE or WebSocket?":                              "sse-or-websocket",
		"#### JSONL recordings and `-record`":               "jsonl-recordings-and--record",
		"### Real data in: `-source file:PATH`":             "real-data-in--source-filepath",
		"## Several nodes: NATS and nginx":                  "several-nodes-nats-and-nginx",
		"### Compare view (`/compare`)":                     "compare-view-compare",
		"## [Linked](elsewhere.md) heading ##":              "linked-heading",
		"### Building and testing the dashboard (in `ui/`)": "building-and-testing-the-dashboard-in-ui",
	} {
		if a := headingAnchors(heading); !a[want] || len(a) != 1 {
			t.Errorf("%s: anchors %v; want #%s", heading, a, want)
		}
	}
	a := headingAnchors("## Limits\n\n```\n# not a heading\n```\n\n## Limits\n")
	if !a["limits"] || !a["limits-1"] || a["not-a-heading"] {
		t.Errorf("a repeated heading and a code block: anchors %v; want limits, limits-1", a)
	}
}
