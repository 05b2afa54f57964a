package compare

import "net/http"

// CheckOrigin applies the Origin rule of /ws (docs/API.md) to any request:
// no Origin at all (not a browser), the request's own host, or one that
// allowedOrigins (the server's -cors-origins) names or matches, "*" for
// any. The error says why not, for a 403. The bench's job API uses it too,
// so that only the dashboard's page (or one the operator allowed) can
// start a run.
func CheckOrigin(r *http.Request, allowedOrigins []string) error {
	var patterns []string
	for _, o := range allowedOrigins {
		if o == "*" {
			return nil
		}
		patterns = append(patterns, o)
	}
	return checkOrigin(r, patterns)
}
