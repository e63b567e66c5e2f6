package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	berthv1 "github.com/berth-dev/berth/api/v1alpha1"
	"github.com/berth-dev/berth/apiserver/registry"
)

// sourceFlags are the flags that name the default GitSource.
type sourceFlags struct {
	repo, branch, path string
}

func (s *sourceFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&s.repo, "repo", "", "git repository the GitSource \"default\" follows (URL or local path)")
	f.StringVar(&s.branch, "branch", "main", "branch of --repo to follow")
	f.StringVar(&s.path, "path", ".", "directory of --repo holding the manifests")
}

// ensure creates or updates the GitSource kube-system/default from the flags.
func (s *sourceFlags) ensure(ctx context.Context, cfg *rest.Config) error {
	if s.repo == "" {
		return nil
	}
	url := s.repo
	if !strings.Contains(url, "://") && !strings.Contains(url, "@") {
		abs, err := filepath.Abs(url)
		if err != nil {
			return fmt.Errorf("--repo %s: %w", url, err)
		}
		url = abs
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	gs := &berthv1.GitSource{
		TypeMeta:   metav1.TypeMeta{APIVersion: berthv1.SchemeGroupVersion.String(), Kind: "GitSource"},
		ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: metav1.NamespaceSystem},
		Spec:       berthv1.GitSourceSpec{URL: url, Branch: s.branch, Path: s.path},
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(gs)
	if err != nil {
		return err
	}
	res := dyn.Resource(registry.GitSources().GroupVersionResource()).Namespace(metav1.NamespaceSystem)
	cur, err := res.Get(ctx, "default", metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = res.Create(ctx, &unstructured.Unstructured{Object: m}, metav1.CreateOptions{})
	case err == nil:
		spec, _ := m["spec"].(map[string]interface{})
		if err = unstructured.SetNestedMap(cur.Object, spec, "spec"); err == nil {
			_, err = res.Update(ctx, cur, metav1.UpdateOptions{})
		}
	}
	if err != nil {
		return fmt.Errorf("GitSource kube-system/default for %s: %w", url, err)
	}
	return nil
}
