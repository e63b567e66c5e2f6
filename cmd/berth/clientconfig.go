package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// defaultDataDir is where `berth server` and `berth up` keep their data, including
// the kubeconfigs they write for each role.
const defaultDataDir = "/var/lib/berth"

// defaultReadonlyKubeconfig is the readonly kubeconfig `berth server` writes to its
// default data dir: the read commands fall back to it on the server's own machine.
var defaultReadonlyKubeconfig = filepath.Join(defaultDataDir, "readonly.kubeconfig")

// readonlyClientConfig returns the client configuration of the read commands: the
// kubeconfig file named by kubeconfig (the --kubeconfig flag) when it is set, else
// the files listed in $KUBECONFIG, else the readonly kubeconfig in the default data
// dir. It reads nothing yet; its ClientConfig and Namespace methods do.
func readonlyClientConfig(kubeconfig string) clientcmd.ClientConfig {
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig}
	if kubeconfig == "" {
		if env := os.Getenv(clientcmd.RecommendedConfigPathEnvVar); env != "" {
			rules.Precedence = filepath.SplitList(env)
		} else {
			rules.ExplicitPath = defaultReadonlyKubeconfig
		}
	}
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{})
}

// readonlyConfig returns the REST config the read commands (and `berth plan`) use:
// from --kubeconfig when kubeconfig is not empty, else from $KUBECONFIG, else from
// /var/lib/berth/readonly.kubeconfig, the readonly role's kubeconfig that `berth
// server` writes. The error says which file was missing or broken.
func readonlyConfig(kubeconfig string) (*rest.Config, error) {
	cfg, err := readonlyClientConfig(kubeconfig).ClientConfig()
	if err != nil {
		return nil, kubeconfigError(kubeconfig, err)
	}
	return cfg, nil
}

// defaultNamespace is the namespace of the kubeconfig's current context, else
// "default", as kubectl's.
func defaultNamespace(kubeconfig string) (string, error) {
	ns, _, err := readonlyClientConfig(kubeconfig).Namespace()
	if err != nil {
		return "", kubeconfigError(kubeconfig, err)
	}
	return ns, nil
}

// kubeconfigError explains which kubeconfig could not be loaded, and where the
// readonly one lives when none was given.
func kubeconfigError(kubeconfig string, err error) error {
	switch {
	case kubeconfig != "":
		return fmt.Errorf("load kubeconfig %s: %w", kubeconfig, err)
	case os.Getenv(clientcmd.RecommendedConfigPathEnvVar) != "":
		return fmt.Errorf("load kubeconfig from $KUBECONFIG: %w", err)
	}
	if _, statErr := os.Stat(defaultReadonlyKubeconfig); errors.Is(statErr, fs.ErrNotExist) {
		return fmt.Errorf("no kubeconfig: pass --kubeconfig or set $KUBECONFIG (the readonly kubeconfig %s, written by `berth server`, does not exist here)", defaultReadonlyKubeconfig)
	}
	return fmt.Errorf("load kubeconfig %s: %w", defaultReadonlyKubeconfig, err)
}
