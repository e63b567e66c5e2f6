package apiserver

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/berth-dev/berth/apiserver/auth"
)

// sharedCredentialsKey holds the cluster's CA and tokens in etcd, outside
// the /registry keys that the API serves.
const sharedCredentialsKey = "/berth/bootstrap/credentials"

// ShareCredentials makes the servers on one external etcd cluster hold the
// same CA and tokens, so that agents and kubectl may use any of them. Call
// it before New with the same Options; it does nothing without
// EtcdEndpoints.
//
// The first server to start stores the CA (certificate and key) and the
// token file of its data dir in etcd, in one create-if-absent transaction;
// every server after it, and every restart, installs what etcd holds into
// its data dir, replacing its own. New then issues the server's own serving
// certificate, for its own --listen address and --tls-san names, from the
// shared CA.
//
// As with k3s's datastore bootstrap, the CA key and the tokens are then in
// etcd in the clear: whoever can read the etcd cluster holds the cluster's
// keys, so the etcd cluster must be as private as the data dir.
func ShareCredentials(ctx context.Context, opts Options) error {
	if len(opts.EtcdEndpoints) == 0 {
		return nil
	}
	if err := opts.setDefaults(); err != nil {
		return err
	}
	client, err := newEtcdClient(opts.EtcdEndpoints)
	if err != nil {
		return err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	dir := filepath.Join(opts.DataDir, "tls")

	resp, err := client.Get(ctx, sharedCredentialsKey)
	if err != nil {
		return fmt.Errorf("share credentials: read etcd: %w", err)
	}
	var stored []byte
	if len(resp.Kvs) > 0 {
		stored = resp.Kvs[0].Value
	} else {
		mine, err := auth.LoadShared(dir)
		if err != nil {
			return fmt.Errorf("share credentials: %w", err)
		}
		b, err := json.Marshal(mine)
		if err != nil {
			return fmt.Errorf("share credentials: %w", err)
		}
		txn, err := client.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(sharedCredentialsKey), "=", 0)).
			Then(clientv3.OpPut(sharedCredentialsKey, string(b))).
			Else(clientv3.OpGet(sharedCredentialsKey)).
			Commit()
		if err != nil {
			return fmt.Errorf("share credentials: store in etcd: %w", err)
		}
		if txn.Succeeded {
			opts.Logger.Info("stored this server's CA and tokens in etcd for the other servers")
			return nil
		}
		// Another server stored its own first.
		stored = txn.Responses[0].GetResponseRange().Kvs[0].Value
	}
	var shared auth.Shared
	if err := json.Unmarshal(stored, &shared); err != nil {
		return fmt.Errorf("share credentials: decode %s: %w", sharedCredentialsKey, err)
	}
	changed, err := shared.Install(dir)
	if err != nil {
		return fmt.Errorf("share credentials: %w", err)
	}
	if changed {
		opts.Logger.Info("installed the cluster's CA and tokens from etcd", "dir", dir)
	}
	return nil
}
