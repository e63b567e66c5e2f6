package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// pageSize is the limit of paged lists.
const pageSize = 500

// list creates b.sz.pods pods and measures listing them all through client-go
// (consistent, from the cache, and in pages) against an etcd range read of the
// same prefix that decodes nothing.
func (b *bench) list(ctx context.Context) error {
	const ns = "bench-list"
	if err := b.createNamespace(ctx, ns); err != nil {
		return err
	}
	n := b.sz.pods
	b.logf("list: creating %d pods, %d clients", n, b.sz.podClients)
	pods := b.ts.Client.CoreV1().Pods(ns)
	created, err := parallel(ctx, b.sz.podClients, n, func(ctx context.Context, i int) error {
		p := pod(ns, i)
		p.Spec.SchedulerName = noScheduler // left alone by the schedulers of later figures
		_, err := pods.Create(ctx, p, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("create pods: %w", err)
	}
	b.logf("list: %d pods created at %.0f/s", n, rate(n, created.wall))

	// Baseline: the same range from etcd with the server's own client, whole and paged.
	etcd := b.ts.EtcdClient()
	const prefix = "/registry/core/pods/"
	var etcdBytes int
	etcdFull, err := timeN(b.sz.listIters, func() error {
		resp, err := etcd.Get(ctx, prefix, clientv3.WithPrefix())
		if err != nil {
			return err
		}
		if len(resp.Kvs) != n {
			return fmt.Errorf("etcd range: %d pods, want %d", len(resp.Kvs), n)
		}
		etcdBytes = (*pb.RangeResponse)(resp).Size()
		return nil
	})
	if err != nil {
		return err
	}
	var etcdPages int
	etcdPaged, err := timeN(b.sz.listIters, func() error {
		key, end, rev, got := prefix, clientv3.GetPrefixRangeEnd(prefix), int64(0), 0
		for etcdPages = 1; ; etcdPages++ {
			opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(pageSize)}
			if rev > 0 {
				opts = append(opts, clientv3.WithRev(rev))
			}
			resp, err := etcd.Get(ctx, key, opts...)
			if err != nil {
				return err
			}
			rev, got = resp.Header.Revision, got+len(resp.Kvs)
			if !resp.More {
				break
			}
			key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
		}
		if got != n {
			return fmt.Errorf("etcd paged range: %d pods, want %d", got, n)
		}
		return nil
	})
	if err != nil {
		return err
	}

	// Through client-go, counting the response bytes.
	var received atomic.Int64
	cfg := rest.CopyConfig(b.ts.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return &countingTransport{rt, &received} })
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	cpods := client.CoreV1().Pods(ns)
	listAll := func(rv string) func() error {
		return func() error {
			l, err := cpods.List(ctx, metav1.ListOptions{ResourceVersion: rv})
			if err != nil {
				return err
			}
			if len(l.Items) != n {
				return fmt.Errorf("list: %d pods, want %d", len(l.Items), n)
			}
			return nil
		}
	}
	var pages int
	listPaged := func() error {
		opts, got := metav1.ListOptions{Limit: pageSize}, 0
		for pages = 1; ; pages++ {
			l, err := cpods.List(ctx, opts)
			if err != nil {
				return err
			}
			got += len(l.Items)
			if l.Continue == "" {
				break
			}
			opts.Continue = l.Continue
		}
		if got != n {
			return fmt.Errorf("paged list: %d pods, want %d", got, n)
		}
		return nil
	}
	listRaw := func() error {
		_, err := client.CoreV1().RESTClient().Get().Namespace(ns).Resource("pods").
			Param("resourceVersion", "0").DoRaw(ctx)
		return err
	}
	type variant struct {
		figure string
		fn     func() error
		base   series
		d      series
		bytes  int64
	}
	vs := []*variant{
		{figure: fmt.Sprintf("list %d pods, consistent (rv \"\")", n), fn: listAll(""), base: etcdFull},
		{figure: fmt.Sprintf("list %d pods, from cache (rv \"0\")", n), fn: listAll("0"), base: etcdFull},
		{figure: fmt.Sprintf("list %d pods, paged (limit %d), all pages", n, pageSize), fn: listPaged, base: etcdPaged},
		{figure: "…same rv \"0\" list, bytes only (DoRaw, no decode)", fn: listRaw, base: etcdFull},
	}
	err = b.profiled("list", func() error {
		for _, v := range vs {
			b.logf("list: %s ×%d", v.figure, b.sz.listIters)
			if err := v.fn(); err != nil { // warm up
				return err
			}
			before := received.Load()
			if v.d, err = timeN(b.sz.listIters, v.fn); err != nil {
				return fmt.Errorf("%s: %w", v.figure, err)
			}
			v.bytes = (received.Load() - before) / int64(b.sz.listIters)
		}
		return nil
	})
	if err != nil {
		return err
	}

	for i, v := range vs {
		a, e := median(v.d.lat), median(v.base.lat)
		cpu := fmt.Sprintf("; CPU per list %s, per etcd range %s", perOp(v.d.cpu, b.sz.listIters), perOp(v.base.cpu, b.sz.listIters))
		note := fmt.Sprintf("median of %d; berth received %s (protobuf, as client-go asks), etcd %s (protobuf, not decoded)",
			b.sz.listIters, mb(v.bytes), mb(int64(etcdBytes)))
		switch i {
		case 0:
			note += fmt.Sprintf("; the %d pods were created at %.0f/s by %d clients", n, rate(n, created.wall), b.sz.podClients)
		case 2:
			note = fmt.Sprintf("median of %d; %d requests, berth received %s; baseline %d etcd ranges of %d at one revision",
				b.sz.listIters, pages, mb(v.bytes), etcdPages, pageSize)
		case 3:
			note = fmt.Sprintf("median of %d; server time and transfer without client-go's decode; %s", b.sz.listIters, mb(v.bytes))
		}
		b.add(v.figure, ms(a), ms(e), float64(a)/float64(e), note+cpu)
	}
	return nil
}

// timeN runs fn n times, one after the other.
func timeN(n int, fn func() error) (series, error) {
	s := series{lat: make([]time.Duration, n)}
	start, cpu0 := time.Now(), cpuTime()
	for i := range s.lat {
		t := time.Now()
		if err := fn(); err != nil {
			return s, err
		}
		s.lat[i] = time.Since(t)
	}
	s.wall, s.cpu = time.Since(start), cpuTime()-cpu0
	return s, nil
}

func median(ds []time.Duration) time.Duration { return percentile(sorted(ds), 50) }

// countingTransport counts the bytes of response bodies (after any gzip decoding).
type countingTransport struct {
	next http.RoundTripper
	n    *atomic.Int64
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err == nil && resp.Body != nil {
		resp.Body = &countingBody{resp.Body, t.n}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// pod returns a pod as a Deployment might stamp it out: one container with ports,
// environment, resources and probes, and the usual labels.
func pod(ns string, i int) *corev1.Pod {
	app := fmt.Sprintf("web-%d", i%20)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: fmt.Sprintf("%s-7d9f8c6b5-%05d", app, i),
			Labels: map[string]string{
				"app.kubernetes.io/name": app, "app.kubernetes.io/component": "frontend",
				"app.kubernetes.io/part-of": "shop", "pod-template-hash": "7d9f8c6b5",
			},
			Annotations: map[string]string{"berth.dev/revision": "3"},
		},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name:  "app",
				Image: "registry.example.com/shop/" + app + ":1.27.3",
				Args:  []string{"--config=/etc/app/application.properties", "--port=8080"},
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
				Env: []corev1.EnvVar{
					{Name: "APP_NAME", Value: app},
					{Name: "LOG_LEVEL", Value: "info"},
					{Name: "DATABASE_URL", Value: "postgres://shop@db.shop.svc:5432/shop?sslmode=require"},
					{Name: "CACHE_TTL_SECONDS", Value: "300"},
				},
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
				},
				ReadinessProbe: &corev1.Probe{
					ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}},
					PeriodSeconds: 5,
				},
			}},
		},
	}
}
