// Command chaostracing-bench-go is the native peer of chaostracing's C
// benchmarks, written against the OpenTelemetry Go SDK, plus the loopback
// OTLP/HTTP receiver every benchmark exports to.
//
//	receiver -mode ok|503|silent     serve on 127.0.0.1:<random>, print "PORT n"
//	span     -reps R -n N            span start+end (sampled, never-sample, noop)
//	enqueue  -threads T -reps R -n N start+end into a batch processor from T goroutines
//	encode   -reps R                 OTLP transform + proto.Marshal of 512 spans
//	memory   -n N                    RSS per queued span, exporter blocked
//	export   -url U -n N             spans/s and CPU through otlptracehttp
//
// Every measurement prints one JSON line {"metric", "unit", "samples", ...};
// bench/py/report.py turns samples into medians and spreads.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// emit prints one measurement as a JSON line.
func emit(metric, unit string, samples []float64, extra map[string]any) {
	m := map[string]any{"impl": "go", "metric": metric, "unit": unit, "samples": samples}
	for k, v := range extra {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	fmt.Println(string(b))
}

// activityAttrs are the ten attributes every "realistic" span carries, the
// same keys and values as bench/c/bench_core.c uses.
var activityAttrs = []attribute.KeyValue{
	attribute.String("chaostoolkit.activity.name", "action-python-answer"),
	attribute.String("chaostoolkit.activity.type", "action"),
	attribute.String("chaostoolkit.activity.provider.type", "python"),
	attribute.String("chaostoolkit.activity.provider.module", "bench_actions"),
	attribute.String("chaostoolkit.activity.provider.func", "answer"),
	attribute.String("chaostoolkit.activity.status", "succeeded"),
	attribute.String("chaostoolkit.activity.output", `{"answer": 42}`),
	attribute.Bool("chaostoolkit.activity.background", false),
	attribute.Int64("chaostoolkit.activity.timeout", 30),
	attribute.Float64("chaostoolkit.activity.duration", 0.0123),
}

const spanName = "action-python-answer"

// discard is a SpanExporter that accepts everything at once.
type discard struct{ n atomic.Int64 }

func (d *discard) ExportSpans(_ context.Context, s []sdktrace.ReadOnlySpan) error {
	d.n.Add(int64(len(s)))
	return nil
}
func (d *discard) Shutdown(context.Context) error { return nil }

// blocker is a SpanExporter that blocks until released.
type blocker struct{ release chan struct{} }

func (b *blocker) ExportSpans(ctx context.Context, _ []sdktrace.ReadOnlySpan) error {
	select {
	case <-b.release:
	case <-ctx.Done():
	}
	return nil
}
func (b *blocker) Shutdown(context.Context) error { return nil }

// parentCtx returns a context holding a sampled parent span of tracer tr.
func parentCtx(tr trace.Tracer) (context.Context, trace.Span) {
	return tr.Start(context.Background(), "parent")
}

// timeLoop runs fn n times per rep and returns ns per call for each rep.
func timeLoop(reps, n int, fn func()) []float64 {
	for i := 0; i < n/10+1; i++ { // warm-up
		fn()
	}
	out := make([]float64, 0, reps)
	for r := 0; r < reps; r++ {
		t0 := time.Now()
		for i := 0; i < n; i++ {
			fn()
		}
		out = append(out, float64(time.Since(t0).Nanoseconds())/float64(n))
	}
	return out
}

func cmdSpan(args []string) {
	fs := flag.NewFlagSet("span", flag.ExitOnError)
	reps := fs.Int("reps", 7, "repetitions")
	n := fs.Int("n", 200000, "spans per repetition")
	fs.Parse(args)
	ctx := context.Background()

	// Sampled, through a batch processor with an exporter that discards.
	d := &discard{}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithBatcher(d, sdktrace.WithMaxQueueSize(65536), sdktrace.WithMaxExportBatchSize(512)))
	tr := tp.Tracer("bench")
	pctx, parent := parentCtx(tr)
	s := timeLoop(*reps, *n, func() {
		_, sp := tr.Start(pctx, spanName)
		sp.End()
	})
	emit("span_sampled", "ns/span", s, nil)
	s = timeLoop(*reps, *n/4, func() {
		_, sp := tr.Start(pctx, spanName, trace.WithAttributes(activityAttrs...))
		sp.End()
	})
	emit("span_sampled_attrs10", "ns/span", s, nil)
	parent.End()
	tp.Shutdown(ctx)
	emit("span_sampled_delivered", "spans", []float64{float64(d.n.Load())}, nil)

	// Unsampled: the NeverSample sampler (OTEL_TRACES_SAMPLER=always_off).
	tp2 := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()),
		sdktrace.WithBatcher(&discard{}))
	tr2 := tp2.Tracer("bench")
	pctx2, p2 := parentCtx(tr2)
	s = timeLoop(*reps, *n, func() {
		_, sp := tr2.Start(pctx2, spanName)
		sp.End()
	})
	emit("span_unsampled", "ns/span", s, nil)
	p2.End()
	tp2.Shutdown(ctx)

	// Disabled: the no-op TracerProvider (what an application gets with the
	// SDK off).
	tr3 := noop.NewTracerProvider().Tracer("bench")
	s = timeLoop(*reps, *n, func() {
		_, sp := tr3.Start(pctx, spanName)
		sp.End()
	})
	emit("span_disabled", "ns/span", s, nil)
}

func cmdEnqueue(args []string) {
	fs := flag.NewFlagSet("enqueue", flag.ExitOnError)
	threads := fs.Int("threads", 1, "goroutines")
	reps := fs.Int("reps", 7, "repetitions")
	n := fs.Int("n", 100000, "spans per goroutine per repetition")
	fs.Parse(args)
	d := &discard{}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithBatcher(d, sdktrace.WithMaxQueueSize(1<<20), sdktrace.WithMaxExportBatchSize(512)))
	tr := tp.Tracer("bench")
	pctx, parent := parentCtx(tr)
	perThread := make([]float64, 0, *reps)
	agg := make([]float64, 0, *reps)
	total := 0
	for r := 0; r < *reps+1; r++ { // rep 0 is a warm-up
		var wg sync.WaitGroup
		start := make(chan struct{})
		for t := 0; t < *threads; t++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for i := 0; i < *n; i++ {
					_, sp := tr.Start(pctx, spanName)
					sp.End()
				}
			}()
		}
		t0 := time.Now()
		close(start)
		wg.Wait()
		el := float64(time.Since(t0).Nanoseconds())
		total += *threads * *n
		if r == 0 {
			continue
		}
		perThread = append(perThread, el/float64(*n))
		agg = append(agg, float64(*threads**n)/el*1e3) // spans per µs = Mspans/s
		// Let the worker drain so every rep starts from an empty queue.
		tp.ForceFlush(context.Background())
	}
	parent.End()
	tp.Shutdown(context.Background())
	dropped := int64(total+1) - d.n.Load()
	emit(fmt.Sprintf("enqueue_%dt_ns", *threads), "ns/span/thread", perThread, map[string]any{"dropped": dropped})
	emit(fmt.Sprintf("enqueue_%dt_rate", *threads), "Mspans/s", agg, map[string]any{"dropped": dropped})
}

// marshalClient is an otlptrace.Client that only marshals: the exporter's
// ExportSpans then measures transform + proto.Marshal, no I/O.
type marshalClient struct{ last int }

func (*marshalClient) Start(context.Context) error { return nil }
func (*marshalClient) Stop(context.Context) error  { return nil }
func (m *marshalClient) UploadTraces(_ context.Context, rs []*tracepb.ResourceSpans) error {
	b, err := proto.Marshal(&coltracepb.ExportTraceServiceRequest{ResourceSpans: rs})
	m.last = len(b)
	return err
}

func cmdEncode(args []string) {
	fs := flag.NewFlagSet("encode", flag.ExitOnError)
	reps := fs.Int("reps", 7, "repetitions")
	iters := fs.Int("iters", 200, "batches per repetition")
	batch := fs.Int("batch", 512, "spans per batch")
	fs.Parse(args)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithResource(resource.Default()))
	tr := tp.Tracer("chaostracing-bench")
	pctx, parent := parentCtx(tr)
	for i := 0; i < *batch; i++ {
		_, sp := tr.Start(pctx, spanName, trace.WithAttributes(activityAttrs...))
		sp.End()
	}
	parent.End()
	spans := rec.Ended()[:*batch]
	mc := &marshalClient{}
	exp := otlptrace.NewUnstarted(mc)
	ctx := context.Background()
	exp.Start(ctx)
	s := timeLoop(*reps, *iters, func() {
		if err := exp.ExportSpans(ctx, spans); err != nil {
			panic(err)
		}
	})
	for i := range s {
		s[i] /= float64(*batch)
	}
	emit("encode_ns", "ns/span", s, map[string]any{"batch": *batch})
	emit("encode_bytes", "bytes/span", []float64{float64(mc.last) / float64(*batch)}, map[string]any{"batch": *batch})
}

// rssBytes reads the resident set size from /proc/self/statm.
func rssBytes() float64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseFloat(f[1], 64)
	return pages * float64(os.Getpagesize())
}

func cmdMemory(args []string) {
	fs := flag.NewFlagSet("memory", flag.ExitOnError)
	n := fs.Int("n", 20000, "queued spans")
	reps := fs.Int("reps", 5, "repetitions")
	fs.Parse(args)
	rssPer := []float64{}
	heapPer := []float64{}
	for r := 0; r < *reps; r++ {
		bl := &blocker{release: make(chan struct{})}
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()),
			sdktrace.WithBatcher(bl, sdktrace.WithMaxQueueSize(*n+1024), sdktrace.WithMaxExportBatchSize(512),
				sdktrace.WithBatchTimeout(time.Hour)))
		tr := tp.Tracer("bench")
		pctx, parent := parentCtx(tr)
		// One batch first, so the worker is parked inside the blocked export.
		for i := 0; i < 512; i++ {
			_, sp := tr.Start(pctx, spanName, trace.WithAttributes(activityAttrs...))
			sp.End()
		}
		time.Sleep(50 * time.Millisecond)
		runtime.GC()
		debug.FreeOSMemory()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		h0, r0 := float64(ms.HeapAlloc), rssBytes()
		for i := 0; i < *n; i++ {
			_, sp := tr.Start(pctx, spanName, trace.WithAttributes(activityAttrs...))
			sp.End()
		}
		time.Sleep(20 * time.Millisecond)
		r1 := rssBytes()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		h1 := float64(ms.HeapAlloc)
		rssPer = append(rssPer, (r1-r0)/float64(*n))
		heapPer = append(heapPer, (h1-h0)/float64(*n))
		close(bl.release)
		parent.End()
		tp.Shutdown(context.Background())
		runtime.GC()
		debug.FreeOSMemory()
	}
	emit("queued_span_rss", "bytes/span", rssPer, map[string]any{"n": *n})
	emit("queued_span_heap", "bytes/span", heapPer, map[string]any{"n": *n})
}

// cpuSeconds is the process's user+system CPU time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

func cmdExport(args []string) {
	fs := flag.NewFlagSet("export", flag.ExitOnError)
	url := fs.String("url", "", "OTLP/HTTP traces URL; empty = no exporter (baseline)")
	n := fs.Int("n", 200000, "spans")
	fs.Parse(args)
	ctx := context.Background()
	var opts []sdktrace.TracerProviderOption
	opts = append(opts, sdktrace.WithSampler(sdktrace.AlwaysSample()))
	var cnt *countingExporter
	if *url != "" {
		e, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(*url))
		if err != nil {
			panic(err)
		}
		cnt = &countingExporter{SpanExporter: e}
		// Blocking: a full queue waits for the worker instead of dropping,
		// so the figure is the exporter's sustained rate.
		opts = append(opts, sdktrace.WithBatcher(cnt, sdktrace.WithBlocking()))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	tr := tp.Tracer("bench")
	pctx, parent := parentCtx(tr)
	c0 := cpuSeconds()
	t0 := time.Now()
	for i := 0; i < *n; i++ {
		_, sp := tr.Start(pctx, spanName, trace.WithAttributes(activityAttrs...))
		sp.End()
	}
	parent.End()
	if err := tp.Shutdown(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "shutdown:", err)
	}
	wall := time.Since(t0).Seconds()
	cpu := cpuSeconds() - c0
	exported := int64(-1)
	if cnt != nil {
		exported = cnt.ok.Load()
	}
	out := map[string]any{"impl": "go", "metric": "export", "n": *n, "wall_s": wall, "cpu_s": cpu,
		"exported": exported, "baseline": *url == ""}
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
}

// countingExporter counts the spans its inner exporter delivered.
type countingExporter struct {
	sdktrace.SpanExporter
	ok atomic.Int64
}

func (c *countingExporter) ExportSpans(ctx context.Context, s []sdktrace.ReadOnlySpan) error {
	err := c.SpanExporter.ExportSpans(ctx, s)
	if err == nil {
		c.ok.Add(int64(len(s)))
	}
	return err
}

// --- the receiver -------------------------------------------------------

func cmdReceiver(args []string) {
	fs := flag.NewFlagSet("receiver", flag.ExitOnError)
	mode := fs.String("mode", "ok", "ok (200), 503 (always), silent (accept, never answer)")
	fs.Parse(args)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Printf("PORT %d\n", ln.Addr().(*net.TCPAddr).Port)
	os.Stdout.Sync()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-sig; os.Exit(0) }()

	if *mode == "silent" {
		var mu sync.Mutex
		var held []net.Conn
		for {
			c, err := ln.Accept()
			if err != nil {
				continue
			}
			mu.Lock()
			held = append(held, c) // never read, never answered, never closed
			mu.Unlock()
		}
	}
	var reqs, bytes atomic.Int64
	status := http.StatusOK
	if *mode == "503" {
		status = http.StatusServiceUnavailable
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/stats" {
			fmt.Fprintf(w, `{"requests": %d, "bytes": %d}`, reqs.Load(), bytes.Load())
			return
		}
		k, _ := io.Copy(io.Discard, r.Body)
		reqs.Add(1)
		bytes.Add(k)
		if r.Header.Get("Content-Type") == "application/json" {
			w.Header().Set("Content-Type", "application/json")
		} else {
			w.Header().Set("Content-Type", "application/x-protobuf")
		}
		w.WriteHeader(status)
	})
	srv := &http.Server{Handler: h}
	srv.Serve(ln)
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: chaostracing-bench-go receiver|span|enqueue|encode|memory|export [flags]")
		os.Exit(2)
	}
	cmds := map[string]func([]string){
		"receiver": cmdReceiver, "span": cmdSpan, "enqueue": cmdEnqueue,
		"encode": cmdEncode, "memory": cmdMemory, "export": cmdExport,
	}
	fn, ok := cmds[os.Args[1]]
	if !ok {
		keys := make([]string, 0, len(cmds))
		for k := range cmds {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintf(os.Stderr, "unknown command %q (one of %v)\n", os.Args[1], keys)
		os.Exit(2)
	}
	fn(os.Args[2:])
}
