package api

import (
	"context"

	"connectrpc.com/connect"
)

// Bearer is a client interceptor that sends token as `Authorization:
// Bearer <token>` on every call, unary and streaming, of a generated
// client: cfav1connect.NewIntentServiceClient(hc, url,
// connect.WithInterceptors(api.Bearer(token))). An empty token sends none.
func Bearer(token string) connect.Interceptor { return bearer{token} }

type bearer struct{ token string }

func (b bearer) set(h interface{ Set(string, string) }) {
	if b.token != "" {
		h.Set("Authorization", "Bearer "+b.token)
	}
}

func (b bearer) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			b.set(req.Header())
		}
		return next(ctx, req)
	}
}

func (b bearer) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		b.set(conn.RequestHeader())
		return conn
	}
}

func (b bearer) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}
