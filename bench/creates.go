package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// rawPrefix is where baseline keys go: outside /registry/, so berth's watch caches
// never see them.
const rawPrefix = "/bench/raw/"

// creates measures creates per second and per-create latency through the API (with
// protobuf and with JSON request bodies) against etcd Puts of the same objects'
// JSON, with the same number of parallel clients.
func (b *bench) creates(ctx context.Context) error {
	const ns = "bench-creates"
	if err := b.createNamespace(ctx, ns); err != nil {
		return err
	}
	n, workers := b.sz.creates, b.sz.clients
	etcd := b.ts.EtcdClient()

	// Baseline: the same objects, as JSON, Put by the same number of clients, once
	// before and once after the API series so that both see the same machine.
	keys := make([]string, 2*n)
	vals := make([]string, 2*n)
	var size int
	for i := range 2 * n {
		cm := configMap(ns, fmt.Sprintf("etcd-%05d", i), i)
		cm.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}
		cm.UID = types.UID(uuid.NewString())
		cm.CreationTimestamp = metav1.Now()
		data, err := json.Marshal(cm)
		if err != nil {
			return err
		}
		keys[i], vals[i] = rawPrefix+"configmaps/"+ns+"/"+cm.Name, string(data)
		size += len(data)
	}
	put := func(ctx context.Context, i int) error {
		_, err := etcd.Put(ctx, keys[i], vals[i])
		return err
	}
	if _, err := parallel(ctx, workers, b.sz.warmupOps, func(ctx context.Context, i int) error {
		_, err := etcd.Put(ctx, rawPrefix+"warmup/"+fmt.Sprint(i), vals[i%n])
		return err
	}); err != nil {
		return fmt.Errorf("etcd warmup: %w", err)
	}
	b.logf("creates: %d etcd puts, %d clients", n, workers)
	base, err := parallel(ctx, workers, n, put)
	if err != nil {
		return fmt.Errorf("etcd puts: %w", err)
	}

	// Through the API: client-go's typed clients send protobuf unless told otherwise.
	jsonCfg := rest.CopyConfig(b.ts.Config)
	jsonCfg.ContentType = "application/json"
	jsonClient, err := kubernetes.NewForConfig(jsonCfg)
	if err != nil {
		return err
	}
	limiter := "no client rate limiter (QPS -1)"
	if b.ts.Client.CoreV1().RESTClient().GetRateLimiter() != nil || jsonClient.CoreV1().RESTClient().GetRateLimiter() != nil {
		limiter = "client rate limiter ACTIVE"
	}
	runs := []struct {
		name   string
		client kubernetes.Interface
		series
	}{{name: "pb", client: b.ts.Client}, {name: "json", client: jsonClient}}
	err = b.profiled("creates", func() error {
		for si := range runs {
			s := &runs[si]
			cms := s.client.CoreV1().ConfigMaps(ns)
			if _, err := parallel(ctx, workers, b.sz.warmupOps, func(ctx context.Context, i int) error {
				_, err := cms.Create(ctx, configMap(ns, fmt.Sprintf("warm-%s-%05d", s.name, i), i), metav1.CreateOptions{})
				return err
			}); err != nil {
				return fmt.Errorf("API warmup (%s): %w", s.name, err)
			}
			objs := make([]*corev1.ConfigMap, n)
			for i := range objs {
				objs[i] = configMap(ns, fmt.Sprintf("%s-%05d", s.name, i), i)
			}
			b.logf("creates: %d API creates (%s), %d clients", n, s.name, workers)
			s.series, err = parallel(ctx, workers, n, func(ctx context.Context, i int) error {
				_, err := cms.Create(ctx, objs[i], metav1.CreateOptions{})
				return err
			})
			if err != nil {
				return fmt.Errorf("API creates (%s): %w", s.name, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	b.logf("creates: %d more etcd puts, %d clients", n, workers)
	after, err := parallel(ctx, workers, n, func(ctx context.Context, i int) error { return put(ctx, n+i) })
	if err != nil {
		return fmt.Errorf("etcd puts: %w", err)
	}
	base = base.plus(after)
	stored, err := etcd.Get(ctx, "/registry/core/configmaps/"+ns+"/pb-00000")
	if err != nil || len(stored.Kvs) == 0 {
		return fmt.Errorf("read back a created ConfigMap: %v", err)
	}

	etcdRate, etcdSorted := rate(2*n, base.wall), sorted(base.lat)
	for _, s := range runs {
		what, body := "protobuf", "protobuf request and response (client-go default)"
		if s.name == "json" {
			what, body = "JSON", "JSON request and response"
		}
		r := rate(n, s.wall)
		note := fmt.Sprintf("%d ConfigMaps, %d clients, %s; baseline %d etcd Puts of the JSON, half before and half after; CPU per create %s, per put %s",
			n, workers, body, 2*n, perOp(s.cpu, n), perOp(base.cpu, 2*n))
		if s.name == "pb" {
			note += fmt.Sprintf(" (%d B put; berth stores %d B); %s", size/(2*n), len(stored.Kvs[0].Value), limiter)
		}
		b.add("creates/s, "+what, fmt.Sprintf("%.0f/s", r), fmt.Sprintf("%.0f/s", etcdRate), r/etcdRate, note)
		ls := sorted(s.lat)
		for _, p := range []float64{50, 99} {
			a, e := percentile(ls, p), percentile(etcdSorted, p)
			b.add(fmt.Sprintf("create latency p%.0f, %s", p, what), ms(a), ms(e), float64(a)/float64(e), "per request, under the same load")
		}
	}
	return nil
}

// configMap returns a ConfigMap of about 1.5 KB of JSON, as an application's
// configuration might be; i varies its contents.
func configMap(ns, name string, i int) *corev1.ConfigMap {
	props := strings.Builder{}
	for j := range 16 {
		fmt.Fprintf(&props, "service.endpoint.%02d=https://svc-%d.internal.example.com:%d/v1\n", j, (i+j)%97, 8000+j)
	}
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: name,
			Labels: map[string]string{
				"app.kubernetes.io/name": fmt.Sprintf("web-%d", i%20), "app.kubernetes.io/component": "frontend",
				"app.kubernetes.io/part-of": "shop", "app.kubernetes.io/managed-by": "berth",
			},
			Annotations: map[string]string{"berth.dev/source": "git@example.com:shop/deploy.git#main"},
		},
		Data: map[string]string{
			"application.properties": props.String(),
			"LOG_LEVEL":              "info",
			"FEATURE_FLAGS":          fmt.Sprintf(`{"checkout_v2":true,"recommendations":%t,"ab_bucket":%d}`, i%2 == 0, i%10),
		},
	}
}
