package offlinetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/trustfactory/attest/gpu"
	"github.com/trustfactory/attest/verify"
)

// jsonDevice is one device of NVIDIA's serialized evidence array as
// encoding/json would read it (the gpu package's own decoding type).
type jsonDevice struct {
	Arch        string `json:"arch"`
	UUID        string `json:"uuid,omitempty"`
	Nonce       string `json:"nonce,omitempty"`
	Evidence    string `json:"evidence"`
	Certificate string `json:"certificate"`
}

// BenchmarkCompositeJSON measures whether gpu's hand-written JSON reading
// (split.go, jsonfast.go) still pays for itself: the issue keeps it only
// while encoding/json would cost more than 5 % of a warm composite. Each
// iteration appraises the composite of BenchmarkComposite, then splits and
// decodes its eight-GPU evidence twice: as the appraiser does (gpu's Split,
// then ParseEvidence of each part, base64 included) and as encoding/json
// would (the array into raw elements, then each element into its fields,
// base64 not included), each timed in process CPU time: the appraisal's
// work is spread over the cores, and a composite's CPU is what the reading
// would add to. json-share is the encoding/json reading over the appraisal
// less gpu's reading plus encoding/json's, i.e. its share of a composite
// that used it; x-fast is encoding/json's CPU over gpu's.
func BenchmarkCompositeJSON(b *testing.B) {
	w := newWorld(b, 8, verify.WithAnnotatedEvidence(false))
	s := newSession(b, "YmVuY2htYXJr")
	comps := w.components(b, s, nil, nil)
	ev := comps[1].Evidence
	v, err := gpu.NewVerifier(verify.FormatGPU, gpu.WithoutRevocationUnsafe(), gpu.WithoutRIMsUnsafe())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := w.a.AppraiseOutcome(ctx, comps); err != nil {
		b.Fatal(err)
	}
	if cpuTime() == 0 {
		b.Skip("no process CPU time on this platform")
	}
	var ours, fast, std time.Duration
	for b.Loop() {
		t0 := cpuTime()
		if _, err := w.a.AppraiseOutcome(ctx, comps); err != nil {
			b.Fatal(err)
		}
		t1 := cpuTime()
		parts, err := v.Split(ev)
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range parts {
			if _, err := gpu.ParseEvidence(p); err != nil {
				b.Fatal(err)
			}
		}
		t2 := cpuTime()
		var elems []json.RawMessage
		if err := json.Unmarshal(ev, &elems); err != nil {
			b.Fatal(err)
		}
		for _, e := range elems {
			var d jsonDevice
			if err := json.Unmarshal(e, &d); err != nil {
				b.Fatal(err)
			}
		}
		t3 := cpuTime()
		ours, fast, std = ours+t1-t0, fast+t2-t1, std+t3-t2
	}
	b.ReportMetric(float64(std)/float64(ours-fast+std), "json-share")
	b.ReportMetric(float64(std)/float64(fast), "x-fast")
}
