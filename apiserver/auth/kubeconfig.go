package auth

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// kubeconfigName names the cluster and the context in every kubeconfig berth writes.
const kubeconfigName = "berth"

// WriteKubeconfig writes a kubeconfig to path, replacing any file there, for user to
// reach the API server at server (an https:// URL) with token. The cluster and the
// context are named "berth" and the context is current; caPEM and token are embedded, so
// the file stands alone and is written with mode 0600. kubectl --kubeconfig and
// clientcmd.BuildConfigFromFlags accept it. Missing parent directories are created.
func WriteKubeconfig(path, server string, caPEM []byte, user, token string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[kubeconfigName] = &clientcmdapi.Cluster{
		Server:                   server,
		CertificateAuthorityData: caPEM,
	}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[kubeconfigName] = &clientcmdapi.Context{Cluster: kubeconfigName, AuthInfo: user}
	cfg.CurrentContext = kubeconfigName
	if err := clientcmd.Validate(*cfg); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return writeFileAtomic(path, data, 0o600)
}
