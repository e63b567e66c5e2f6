package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// sentAnnotation carries an update's send time (Unix nanoseconds) to the watchers.
const sentAnnotation = "bench.berth.dev/sent"

// delivery is what the watchers of one run saw.
type delivery struct {
	lat  []time.Duration // receive minus send time, for every (watcher, event)
	want int             // watchers × updates
	send []time.Duration // how long each update request took
	conn int             // connections the watches used
	cpu  time.Duration   // process CPU from the first update until the last delivery
}

// watch measures how long updates take to reach many concurrent watchers through
// the API, against as many etcd watches receiving Puts of the same objects.
func (b *bench) watch(ctx context.Context) error {
	const ns = "bench-watch"
	if err := b.createNamespace(ctx, ns); err != nil {
		return err
	}
	for k := range b.sz.watchObjs {
		if _, err := b.ts.Client.CoreV1().ConfigMaps(ns).Create(ctx, configMap(ns, watchedName(k), k), metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	var api, raw *delivery
	err := b.profiled("watch", func() error {
		var err error
		api, err = b.watchAPI(ctx, ns)
		return err
	})
	if err != nil {
		return fmt.Errorf("API watches: %w", err)
	}
	runtime.GC()
	if raw, err = b.watchEtcd(ctx, ns); err != nil {
		return fmt.Errorf("etcd watches: %w", err)
	}

	w, m := b.sz.watchers, b.sz.updates
	al, rl := sorted(api.lat), sorted(raw.lat)
	as, rs := sorted(api.send), sorted(raw.send)
	notes := []string{
		fmt.Sprintf("receive minus send time, every (watcher, event); %d watches on %d HTTP/2 connections vs %d clientv3 watches "+
			"on %d etcd clients; an update every %s (berth: merge patch; etcd: Put of the JSON); both decode each event into a ConfigMap",
			w, api.conn, w, raw.conn, b.sz.spacing),
		fmt.Sprintf("the update requests themselves took p50 %s, p99 %s (berth) vs p50 %s, p99 %s (etcd)",
			ms(percentile(as, 50)), ms(percentile(as, 99)), ms(percentile(rs, 50)), ms(percentile(rs, 99))),
		fmt.Sprintf("CPU per delivered event %s vs %s (watchers' decoding included)", perOp(api.cpu, len(api.lat)), perOp(raw.cpu, len(raw.lat))),
	}
	for i, p := range []struct {
		name string
		pct  float64
	}{{"p50", 50}, {"p99", 99}, {"max", 100}} {
		a, r := percentile(al, p.pct), percentile(rl, p.pct)
		b.add(fmt.Sprintf("watch delivery %s, %d watchers × %d updates", p.name, w, m), ms(a), ms(r), float64(a)/float64(r), notes[i])
	}
	note := "all delivered"
	if len(api.lat) < api.want || len(raw.lat) < raw.want {
		note = fmt.Sprintf("SHORTFALL: berth %d, etcd %d events missing after %s", api.want-len(api.lat), raw.want-len(raw.lat), b.sz.maxSettle)
	}
	b.add("watch events delivered", fmt.Sprintf("%d/%d", len(api.lat), api.want), fmt.Sprintf("%d/%d", len(raw.lat), raw.want),
		float64(len(api.lat))/float64(len(raw.lat)), note)
	return nil
}

func watchedName(k int) string { return fmt.Sprintf("watched-%02d", k) }

// watchAPI opens the watches through client-go on several connections, patches the
// watched ConfigMaps and collects what the watchers receive.
func (b *bench) watchAPI(ctx context.Context, ns string) (*delivery, error) {
	w, conns := b.sz.watchers, b.sz.conns
	// client-go shares one transport, so one HTTP/2 connection, between configs with
	// equal TLS settings; a Dial function of its own gives each clientset its own.
	var dials atomic.Int64
	clients := make([]kubernetes.Interface, conns)
	for c := range clients {
		cfg := rest.CopyConfig(b.ts.Config)
		d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
		cfg.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return d.DialContext(ctx, network, addr)
		}
		var err error
		if clients[c], err = kubernetes.NewForConfig(cfg); err != nil {
			return nil, err
		}
	}
	cms := b.ts.Client.CoreV1().ConfigMaps(ns)
	list, err := cms.List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b.logf("watch: opening %d API watches on %d connections", w, conns)
	streams := make([]func() (any, bool), w)
	stops := make([]func(), w)
	for _, c := range clients { // connect each before the watches race to dial
		if _, err := c.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
			return nil, err
		}
	}
	if _, err := parallel(ctx, conns, w, func(_ context.Context, i int) error {
		wt, err := clients[i%conns].CoreV1().ConfigMaps(ns).Watch(wctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
		if err != nil {
			return err
		}
		stops[i] = wt.Stop
		streams[i] = func() (any, bool) {
			ev, ok := <-wt.ResultChan()
			return ev.Object, ok
		}
		return nil
	}); err != nil {
		return nil, err
	}
	defer func() {
		for _, stop := range stops {
			if stop != nil {
				stop()
			}
		}
	}()
	collect := b.collect(streams, func(obj any) (int64, bool) {
		cm, ok := obj.(*corev1.ConfigMap)
		if !ok {
			return 0, false
		}
		sent, err := strconv.ParseInt(cm.Annotations[sentAnnotation], 10, 64)
		return sent, err == nil
	})
	cpu0 := cpuTime()
	send, err := b.sendUpdates(ctx, func(ctx context.Context, i int, now time.Time) error {
		patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:"%d"}}}`, sentAnnotation, now.UnixNano())
		_, err := cms.Patch(ctx, watchedName(i%b.sz.watchObjs), types.MergePatchType, []byte(patch), metav1.PatchOptions{})
		return err
	})
	if err != nil {
		return nil, err
	}
	lat := collect(cancel)
	return &delivery{lat: lat, want: w * b.sz.updates, send: send, conn: int(dials.Load()), cpu: cpuTime() - cpu0}, nil
}

// watchEtcd opens as many etcd watches on several etcd clients, Puts the same
// objects with their send times and collects what the watchers receive.
func (b *bench) watchEtcd(ctx context.Context, ns string) (*delivery, error) {
	w, conns := b.sz.watchers, b.sz.conns
	etcd := b.ts.EtcdClient()
	prefix := rawPrefix + "watch/" + ns + "/"
	objs := make([]*corev1.ConfigMap, b.sz.watchObjs)
	var rev int64
	for k := range objs {
		objs[k] = configMap(ns, watchedName(k), k)
		objs[k].TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}
		data, _ := json.Marshal(objs[k])
		resp, err := etcd.Put(ctx, prefix+objs[k].Name, string(data))
		if err != nil {
			return nil, err
		}
		rev = resp.Header.Revision
	}
	clients := make([]*clientv3.Client, conns)
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.Close()
			}
		}
	}()
	for c := range clients {
		var err error
		clients[c], err = clientv3.New(clientv3.Config{Endpoints: etcd.Endpoints(), DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
		if err != nil {
			return nil, err
		}
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b.logf("watch: opening %d etcd watches on %d clients", w, conns)
	streams := make([]func() (any, bool), w)
	if _, err := parallel(ctx, conns, w, func(_ context.Context, i int) error {
		wch := clients[i%conns].Watch(wctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1), clientv3.WithCreatedNotify())
		if resp, ok := <-wch; !ok || !resp.Created {
			return fmt.Errorf("watch %d not created: %v", i, resp.Err())
		}
		var pending [][]byte
		streams[i] = func() (any, bool) {
			for len(pending) == 0 {
				resp, ok := <-wch
				if !ok || resp.Err() != nil {
					return nil, false
				}
				for _, ev := range resp.Events {
					pending = append(pending, ev.Kv.Value)
				}
			}
			v := pending[0]
			pending = pending[1:]
			var cm corev1.ConfigMap // decode as client-go does for the API's watchers
			if err := json.Unmarshal(v, &cm); err != nil {
				return nil, true
			}
			return &cm, true
		}
		return nil
	}); err != nil {
		return nil, err
	}
	collect := b.collect(streams, func(obj any) (int64, bool) {
		cm, ok := obj.(*corev1.ConfigMap)
		if !ok {
			return 0, false
		}
		sent, err := strconv.ParseInt(cm.Annotations[sentAnnotation], 10, 64)
		return sent, err == nil
	})
	cpu0 := cpuTime()
	send, err := b.sendUpdates(ctx, func(ctx context.Context, i int, now time.Time) error {
		cm := *objs[i%len(objs)] // updates may overlap: change a copy
		cm.Annotations = maps.Clone(cm.Annotations)
		cm.Annotations[sentAnnotation] = strconv.FormatInt(now.UnixNano(), 10)
		data, err := json.Marshal(&cm)
		if err != nil {
			return err
		}
		_, err = etcd.Put(ctx, prefix+cm.Name, string(data))
		return err
	})
	if err != nil {
		return nil, err
	}
	lat := collect(cancel)
	return &delivery{lat: lat, want: w * b.sz.updates, send: send, conn: conns, cpu: cpuTime() - cpu0}, nil
}

// collect starts a goroutine per watch stream that reads events until it has seen
// b.sz.updates of them, timing each on arrival. The returned function waits for
// them (at most b.sz.maxSettle, then calls stop to end the streams) and returns
// every latency.
func (b *bench) collect(streams []func() (any, bool), sentOf func(any) (int64, bool)) func(stop func()) []time.Duration {
	m := b.sz.updates
	lats := make([][]time.Duration, len(streams))
	var wg sync.WaitGroup
	for i, next := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := make([]time.Duration, 0, m)
			defer func() { lats[i] = l }()
			for len(l) < m {
				obj, ok := next()
				if !ok {
					return
				}
				now := time.Now()
				if sent, ok := sentOf(obj); ok {
					l = append(l, now.Sub(time.Unix(0, sent)))
				}
			}
		}()
	}
	return func(stop func()) []time.Duration {
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(b.sz.maxSettle):
			stop()
			<-done
		}
		var all []time.Duration
		for _, l := range lats {
			all = append(all, l...)
		}
		return all
	}
}

// sendUpdates starts update b.sz.updates times, b.sz.spacing apart, with the time
// it starts, and returns how long each call took. The schedule does not wait for
// slow calls, so every system under test gets the same rate of updates.
func (b *bench) sendUpdates(ctx context.Context, update func(ctx context.Context, i int, now time.Time) error) ([]time.Duration, error) {
	send := make([]time.Duration, b.sz.updates)
	errs := make([]error, b.sz.updates)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range send {
		time.Sleep(time.Until(start.Add(time.Duration(i) * b.sz.spacing)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.Now()
			if err := update(ctx, i, t); err != nil {
				errs[i] = fmt.Errorf("update %d: %w", i, err)
			}
			send[i] = time.Since(t)
		}()
	}
	wg.Wait()
	return send, errors.Join(errs...)
}
