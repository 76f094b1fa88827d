package observe

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gomode/mode"
	"github.com/rs/zerolog"
)

// Server is a Worker option (a mode.Extension) that serves a Handler for
// the Worker's tree on Addr while the Worker runs:
//
//	w := mode.Worker{Service: root, Extensions: []mode.Extension{&observe.Server{Addr: ":8080"}}}
//
// It listens at mode.StepStarting, before the tree starts, so that /healthz
// and /readyz answer during the start (/readyz with 503 until every
// service is Running); a listen error fails the run (mode.ExitStartFailed).
// At mode.StepStopped it closes the Handler (ending the page's event
// streams), shuts the HTTP server down within the step's ctx (the
// Worker's StopTimeout), closing the connections still open when ctx
// ends, and joins its goroutines. The probes answer through the stop:
// /readyz fails from the stop's beginning (services are Stopping),
// /healthz stays 200 unless something hangs.
//
// Its zero value with Addr set is ready. A Server serves one run at a time
// and can serve another after StepStopped. Its methods are safe for
// concurrent use.
type Server struct {
	// Addr is the TCP address to listen on, "host:port" as net.Listen
	// takes it (":8080", "127.0.0.1:0" for a free port). Required.
	Addr string
	// Controls enables the Handler's restart and terminate controls (see
	// Handler.Controls). Off by default.
	Controls bool
	// Token is the Handler's control token (see Handler.Token).
	Token string
	// Log receives the Handler's control lines and the HTTP server's
	// errors. Default: the Worker's logger.
	Log *zerolog.Logger

	mu   sync.Mutex
	ln   net.Listener
	srv  *http.Server
	h    *Handler
	done chan struct{} // closed when the serve goroutine has returned
	reqs *requests     // the run's requests under way
}

// requests counts the requests under way, so that stop can join them;
// once closed it refuses new ones.
type requests struct {
	mu     sync.Mutex
	n      int
	closed bool
	idle   chan struct{} // closed once closed and n is 0
}

func (q *requests) enter() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	q.n++
	return true
}

func (q *requests) leave() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n--; q.closed && q.n == 0 {
		close(q.idle)
	}
}

// close refuses new requests and returns a channel closed once none is
// under way.
func (q *requests) close() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	if q.n == 0 {
		close(q.idle)
	}
	return q.idle
}

// readHeaderTimeout bounds reading a request's headers (slow clients).
const readHeaderTimeout = 10 * time.Second

// ListenAddr returns the address the Server listens on, once StepStarting
// has succeeded (the port chosen for ":0"), or nil when it is not serving.
func (s *Server) ListenAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// WorkerPhase implements mode.Extension. At StepStarting it listens on
// Addr and starts serving; it returns ErrNoAddr for an empty Addr,
// ErrServing when the Server serves a run already, or the listen error,
// wrapped. At StepStopped it stops serving, within ctx, and returns nil
// (the Handler's Close error, if any). Other steps do nothing.
func (s *Server) WorkerPhase(ctx context.Context, p mode.Phase) error {
	switch p.Step {
	case mode.StepStarting:
		return s.start(ctx, p)
	case mode.StepStopped:
		return s.stop(ctx)
	}
	return nil
}

// start listens and starts the serve goroutine.
func (s *Server) start(ctx context.Context, p mode.Phase) error {
	if s.Addr == "" {
		return ErrNoAddr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return fmt.Errorf("%w on %s", ErrServing, s.ln.Addr())
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("observe server: %w", err)
	}
	logger := s.Log
	if logger == nil {
		logger = p.Log
	}
	h := &Handler{Root: p.Root, Controls: s.Controls, Token: s.Token, Log: logger}
	reqs := &requests{idle: make(chan struct{})}
	srv := &http.Server{
		Handler:           counted(reqs, h),
		ReadHeaderTimeout: readHeaderTimeout,
	}
	if logger != nil {
		l := logger.With().Str("component", "observe.Server").Logger()
		srv.ErrorLog = log.New(&l, "", 0)
	}
	done := make(chan struct{})
	s.ln, s.srv, s.h, s.done, s.reqs = ln, srv, h, done, reqs
	go func() {
		defer close(done)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) && logger != nil {
			logger.Error().Err(err).Str("addr", ln.Addr().String()).Msg("observe server stopped serving")
		}
	}()
	if logger != nil {
		logger.Info().Str("addr", ln.Addr().String()).Msg("observe server listening")
	}
	return nil
}

// counted is h, counting its requests in q; once q is closed it answers
// 503.
func counted(q *requests, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !q.enter() {
			http.Error(w, "observe: server stopping", http.StatusServiceUnavailable)
			return
		}
		defer q.leave()
		h.ServeHTTP(w, r)
	})
}

// stop closes the Handler, shuts the server down within ctx (closing it
// when ctx ends first) and joins the serve goroutine and the requests.
func (s *Server) stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	// The Handler's Close ends the event streams, which would hold
	// Shutdown up; it runs beside Shutdown, because it waits (up to the
	// write deadline) for a stream blocked writing to a client that reads
	// nothing, which only cutting the connection at ctx's end unblocks.
	closed := make(chan error, 1)
	go func() { closed <- s.h.Close() }()
	if s.srv.Shutdown(ctx) != nil {
		_ = s.srv.Close() // ctx ended: the connections left are cut
	}
	err := <-closed
	<-s.done
	// Closing the connections ended the requests' contexts; the Handler's
	// routes return when theirs ends.
	<-s.reqs.close()
	s.ln, s.srv, s.h, s.done, s.reqs = nil, nil, nil, nil, nil
	if err != nil {
		return fmt.Errorf("observe server: closing the handler: %w", err)
	}
	return nil
}

var _ mode.Extension = (*Server)(nil)
