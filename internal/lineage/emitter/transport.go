package emitter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/contextualflux/cfa/internal/redact"
)

// Defaults of HTTP.
const (
	DefaultHTTPTimeout = 10 * time.Second
	DefaultAttempts    = 3
	DefaultBackoff     = 500 * time.Millisecond
)

// HTTP posts each event as JSON to URL, the lineage server's endpoint
// (Marquez: http://marquez:5000/api/v1/lineage), with a bearer token when
// APIKey is set. A network error, 408, 429 or 5xx is retried (Attempts in
// all, the wait doubling from Backoff); any other answer but 2xx is not.
// Its errors name the server by its origin only: a URL's path or query may
// be its credential (docs/adr/0111).
type HTTP struct {
	URL    string
	APIKey string
	// Client sends the requests; nil: a client with DefaultHTTPTimeout.
	Client   *http.Client
	Attempts int
	Backoff  time.Duration
}

// NewHTTP checks the endpoint and returns its transport.
func NewHTTP(endpoint, apiKey string) (*HTTP, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// url.Parse's error quotes the whole URL: it is not wrapped.
		return nil, errors.New("CFA_OPENLINEAGE_URL is not an http(s) URL (not shown: it may hold a credential); set the lineage endpoint, e.g. http://marquez:5000/api/v1/lineage")
	}
	return &HTTP{URL: endpoint, APIKey: apiKey}, nil
}

func (h *HTTP) String() string { return redact.Origin(h.URL) }

// Send posts event, retrying what a retry may fix.
func (h *HTTP) Send(ctx context.Context, event []byte) error {
	attempts, wait := h.Attempts, h.Backoff
	if attempts <= 0 {
		attempts = DefaultAttempts
	}
	if wait <= 0 {
		wait = DefaultBackoff
	}
	for attempt := 1; ; attempt++ {
		retry, err := h.post(ctx, event)
		if err == nil {
			return nil
		}
		if !retry || attempt >= attempts {
			return fmt.Errorf("after %d attempt(s): %w", attempt, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("after %d attempt(s): %w (then %w)", attempt, err, ctx.Err())
		case <-time.After(wait):
		}
		wait *= 2
	}
}

func (h *HTTP) post(ctx context.Context, event []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(event))
	if err != nil {
		return false, errors.New("the lineage endpoint is not a valid URL (not shown: it may hold a credential)")
	}
	req.Header.Set("Content-Type", "application/json")
	if h.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+h.APIKey)
	}
	client := h.Client
	if client == nil {
		client = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	resp, err := client.Do(req)
	if err != nil {
		return ctx.Err() == nil, withoutURL(err)
	}
	defer resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return false, nil
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c >= 500:
		return true, fmt.Errorf("the lineage server answered %s", resp.Status)
	default:
		return false, fmt.Errorf("the lineage server answered %s: it refuses the event, a retry would not change that", resp.Status)
	}
}

// withoutURL drops the *url.Error the HTTP client wraps every failure in:
// it quotes the request URL.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return withoutURL(ue.Err)
	}
	return err
}

// File appends each event as one JSON line to a file (JSON Lines, what the
// OpenLineage file transport writes), created if missing.
type File struct {
	path string

	mu sync.Mutex
	f  *os.File
}

// OpenFile opens path for appending.
func OpenFile(path string) (*File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open the lineage file (CFA_OPENLINEAGE_FILE): %w", err)
	}
	return &File{path: path, f: f}, nil
}

func (f *File) String() string { return "file " + f.path }

// Send writes event and a newline in one write.
func (f *File) Send(_ context.Context, event []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.f == nil {
		return errors.New("the lineage file is closed")
	}
	line := make([]byte, 0, len(event)+1)
	line = append(append(line, event...), '\n')
	_, err := f.f.Write(line)
	return err
}

// Close closes the file; a second Close does nothing.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.f == nil {
		return nil
	}
	err := f.f.Close()
	f.f = nil
	return err
}
