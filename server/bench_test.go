package server_test

import (
	"io"
	"mime/multipart"
	"net/http"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"
)

// genReader yields n bytes of text without holding them.
type genReader struct{ n int64 }

func (g *genReader) Read(p []byte) (int, error) {
	if g.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > g.n {
		p = p[:g.n]
	}
	for i := range p {
		p[i] = "quarry streams uploads\n"[i%23]
	}
	g.n -= int64(len(p))
	return len(p), nil
}

// peakHeap samples the live heap while fn runs and returns the growth of
// its peak over the starting point, in bytes.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	fn()
	close(stop)
	<-done
	if p := peak.Load(); p > base {
		return p - base
	}
	return 0
}

// upload200MB streams a 200 MB multipart upload from a generator to the
// server and returns the status and the peak heap growth while it ran.
func upload200MB(tb testing.TB, s *stack) (status int, growth uint64) {
	const size = 200 << 20
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		fw, err := mw.CreateFormFile("file", "big.txt")
		if err == nil {
			_, err = io.Copy(fw, &genReader{n: size})
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	growth = peakHeap(func() {
		req, _ := http.NewRequest(http.MethodPost, s.http.URL+"/api/v1/upload", pr)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		resp, err := s.http.Client().Do(req)
		if err != nil {
			tb.Error(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		status = resp.StatusCode
	})
	return status, growth
}

// BenchmarkUpload200MB streams a 200 MB upload through the whole server
// (client, HTTP, multipart, hashing, sniffing, blob store, SQLite) and
// reports the peak heap growth: it must stay flat, far under 64 MB.
func BenchmarkUpload200MB(b *testing.B) {
	s := newStack(b, stackOptions{maxUpload: 200 << 20})
	b.SetBytes(200 << 20)
	var worst uint64
	for b.Loop() {
		status, growth := upload200MB(b, s)
		if status != http.StatusCreated {
			b.Fatalf("status %d", status)
		}
		worst = max(worst, growth)
	}
	b.ReportMetric(float64(worst)/(1<<20), "peak-heap-MB")
}
