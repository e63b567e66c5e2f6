package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// defaultServiceAccount is the ServiceAccount every namespace gets.
const defaultServiceAccount = "default"

// serviceAccountController makes sure every active namespace has a "default"
// ServiceAccount, and puts it back when it is deleted.
type serviceAccountController struct {
	client     kubernetes.Interface
	namespaces corelisters.NamespaceLister
	accounts   corelisters.ServiceAccountLister
	queue      *workQueue
}

func newServiceAccountController(cc *controllerContext) (controller, error) {
	ns := cc.informers.Core().V1().Namespaces()
	sa := cc.informers.Core().V1().ServiceAccounts()
	c := &serviceAccountController{client: cc.client, namespaces: ns.Lister(), accounts: sa.Lister()}
	c.queue = newWorkQueue("serviceaccount", cc.log, c.sync)
	if _, err := ns.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.queue.addKey(obj.(*corev1.Namespace).Name) },
		UpdateFunc: func(_, cur any) { c.queue.addKey(cur.(*corev1.Namespace).Name) },
	}); err != nil {
		return nil, err
	}
	if _, err := sa.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if sa, ok := obj.(*corev1.ServiceAccount); ok && sa.Name == defaultServiceAccount {
				c.queue.addKey(sa.Namespace)
			}
		},
	}); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *serviceAccountController) run(ctx context.Context, workers int) { c.queue.run(ctx, workers) }

// sync creates the default ServiceAccount of namespace ns if it is missing.
func (c *serviceAccountController) sync(ctx context.Context, ns string) error {
	n, err := c.namespaces.Get(ns)
	if apierrors.IsNotFound(err) || (err == nil && n.Status.Phase != corev1.NamespaceActive && n.Status.Phase != "") {
		return nil // gone or terminating: nothing may be created in it
	}
	if err != nil {
		return err
	}
	if _, err := c.accounts.ServiceAccounts(ns).Get(defaultServiceAccount); err == nil {
		return nil
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: defaultServiceAccount, Namespace: ns}}
	_, err = c.client.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) && !apierrors.IsForbidden(err) {
		return fmt.Errorf("create serviceaccount %s/default: %w", ns, err)
	}
	return nil
}
