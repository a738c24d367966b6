package sources

import (
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// genReader yields n bytes of varied text without allocating.
type genReader struct {
	n, off int64
	seed   byte
}

var genBlock = func() []byte {
	b := make([]byte, 65521)
	const alphabet = "abcdefghijklmnopqrstuvwxyz \n"
	for i := range b {
		b[i] = alphabet[(i*7+i/97)%len(alphabet)]
	}
	return b
}()

func (g *genReader) Read(p []byte) (int, error) {
	if g.off >= g.n {
		return 0, io.EOF
	}
	k := int(min(int64(len(p)), g.n-g.off))
	for i := 0; i < k; {
		i += copy(p[i:k], genBlock[int((g.off+int64(i))%int64(len(genBlock))):])
	}
	if g.off == 0 && k > 0 {
		p[0] = g.seed // distinct content per iteration
	}
	g.off += int64(k)
	return k, nil
}

// BenchmarkIngestUpload200MB streams 200 MiB through IngestUpload and
// reports the peak growth of the Go heap (HeapInuse, sampled every 5 ms)
// over the baseline, in MB: it stays flat whatever the size.
func BenchmarkIngestUpload200MB(b *testing.B) {
	const size = 200 << 20
	e := newEnv(b, func(c *Config) { c.MaxBytes = size })
	b.SetBytes(size)

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
			}
		}
	})

	i := 0
	for b.Loop() {
		i++
		src, err := e.svc.IngestUpload(b.Context(), DefaultTenant, &genReader{n: size, seed: byte(i)}, "big.txt")
		if err != nil {
			b.Fatal(err)
		}
		if src.SizeBytes != size {
			b.Fatalf("size = %d", src.SizeBytes)
		}
		if err := e.svc.Delete(b.Context(), DefaultTenant, src.ID); err != nil {
			b.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	growth := float64(0)
	if p := peak.Load(); p > base {
		growth = float64(p-base) / 1e6
	}
	b.ReportMetric(growth, "peak-heap-MB")
}
