package scheduler

import (
	"runtime"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

func TestNewOptions(t *testing.T) {
	cfg := &rest.Config{Host: "http://127.0.0.1:1"}
	for _, tc := range []struct {
		name    string
		opts    Options
		wantErr bool
		check   func(t *testing.T, o Options)
	}{
		{name: "no config", opts: Options{}, wantErr: true},
		{name: "max backoff below the initial", opts: Options{Config: cfg, PodInitialBackoff: 5 * time.Second, PodMaxBackoff: time.Second}, wantErr: true},
		{name: "defaults", opts: Options{Config: cfg}, check: func(t *testing.T, o Options) {
			if o.SchedulerName != "default-scheduler" || o.Parallelism != runtime.GOMAXPROCS(0) || o.BindWorkers != 64 ||
				o.PodInitialBackoff != time.Second || o.PodMaxBackoff != 10*time.Second || o.Logger == nil {
				t.Errorf("defaults: %+v", o)
			}
		}},
		{name: "given values kept", opts: Options{Config: cfg, SchedulerName: "mine", Parallelism: 3, BindWorkers: 5}, check: func(t *testing.T, o Options) {
			if o.SchedulerName != "mine" || o.Parallelism != 3 || o.BindWorkers != 5 {
				t.Errorf("options: %+v", o)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.opts)
			if (err != nil) != tc.wantErr {
				t.Fatalf("New: %v, want error %v", err, tc.wantErr)
			}
			if err == nil && tc.check != nil {
				tc.check(t, s.opts)
			}
		})
	}
	if cfg.QPS != 0 {
		t.Error("New changed the caller's config")
	}
}
