package cluster

import (
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/controllers"
)

func TestDefaultServiceAccountCreatedAndRestored(t *testing.T) {
	t.Parallel()
	c := startCluster(t, controllers.Options{Controllers: []string{"serviceaccount"}})
	ns := c.namespace(t)
	accounts := c.Client.CoreV1().ServiceAccounts(ns)
	var uid string
	eventually(t, 30*time.Second, "the default ServiceAccount", func() (bool, string) {
		sa, err := accounts.Get(c.ctx, "default", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		uid = string(sa.UID)
		return true, ""
	})

	if err := accounts.Delete(c.ctx, "default", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "a new default ServiceAccount", func() (bool, string) {
		sa, err := accounts.Get(c.ctx, "default", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return string(sa.UID) != uid, fmt.Sprintf("uid %s", sa.UID)
	})

	// The system namespaces have one too.
	eventually(t, 30*time.Second, "kube-system's default ServiceAccount", func() (bool, string) {
		_, err := c.Client.CoreV1().ServiceAccounts("kube-system").Get(c.ctx, "default", metav1.GetOptions{})
		return err == nil, fmt.Sprint(err)
	})
}
