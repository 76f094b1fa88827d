package service_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// rpcServer is the shape of *grpc.Server that the recipe below relies on:
// Serve blocks until the server stops, GracefulStop waits for the calls in
// flight (with no bound of its own), Stop cuts them.
type rpcServer interface {
	Serve(net.Listener) error
	GracefulStop()
	Stop()
}

// RPC serves a gRPC-style server: the same shape as the http.Server recipe,
// except that GracefulStop takes no ctx. OnStop bounds it with the stop's
// ctx: the goroutine it starts is joined before OnStop returns, and when
// the budget ends the remaining calls are cut with Stop.
type RPC struct {
	service.Base
	Addr string
	New  func() rpcServer // e.g. func() rpcServer { return grpc.NewServer(...) }
	srv  rpcServer
}

var (
	_ service.OnStarter = (*RPC)(nil)
	_ service.OnStopper = (*RPC)(nil)
)

func (r *RPC) OnStart(ctx context.Context) error {
	ln, err := net.Listen("tcp", r.Addr)
	if err != nil {
		return err
	}
	srv := r.New()
	r.srv = srv
	return r.Go("serve", func(context.Context) error {
		return srv.Serve(ln) // nil after GracefulStop or Stop, as grpc's
	})
}

func (r *RPC) OnStop(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.srv.GracefulStop()
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done(): // the stop budget is spent: cut the calls in flight
		r.srv.Stop()
		<-done
		return fmt.Errorf("graceful stop cut short: %w", ctx.Err())
	}
}

// A gRPC-style server as a service, with its graceful stop bounded by the
// stop budget.
func Example_rpcServer() {
	ctx := context.Background()
	nop := zerolog.Nop()
	svc := &RPC{Addr: "127.0.0.1:0", New: func() rpcServer { return &lineServer{} }}
	svc.Configure(service.Config{Logger: &nop})
	if err := service.Start(ctx, svc); err != nil {
		fmt.Println("start:", err)
		return
	}
	fmt.Println(svc.State())
	fmt.Println("stop:", svc.Stop(ctx))
	fmt.Println(svc.State())

	// Output:
	// running
	// stop: <nil>
	// shutdown
}

// lineServer is a stand-in for *grpc.Server: it accepts connections and
// closes them; GracefulStop and Stop close the listener.
type lineServer struct {
	mu  sync.Mutex
	ln  net.Listener
	off bool
}

func (s *lineServer) Serve(ln net.Listener) error {
	s.mu.Lock()
	s.ln = ln
	off := s.off
	s.mu.Unlock()
	if off {
		return ln.Close()
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.off && errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		_ = c.Close()
	}
}

func (s *lineServer) GracefulStop() { s.Stop() }

func (s *lineServer) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.off = true
	if s.ln != nil {
		_ = s.ln.Close()
	}
}
