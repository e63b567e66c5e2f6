package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupName is the API group of berth's own kinds.
const GroupName = "berth.dev"

// SchemeGroupVersion is the group and version of the types in this package.
var SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1alpha1"}

// AddToScheme registers GitSource and GitSourceList with a scheme.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(SchemeGroupVersion, &GitSource{}, &GitSourceList{})
	metav1.AddToGroupVersion(s, SchemeGroupVersion)
	return nil
}

// GitSource is a git repository whose manifests the cluster follows.
type GitSource struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   GitSourceSpec   `json:"spec,omitempty"`
	Status GitSourceStatus `json:"status,omitempty"`
}

// GitSourceSpec says which repository, revision and path to follow, and how.
type GitSourceSpec struct {
	// URL of the repository: file://, http(s)://, ssh:// or a local path.
	URL string `json:"url"`
	// Branch to follow; defaults to "main" when neither Tag nor Commit is set.
	Branch string `json:"branch,omitempty"`
	// Tag to follow instead of a branch.
	Tag string `json:"tag,omitempty"`
	// Commit pins one commit instead of a branch or tag.
	Commit string `json:"commit,omitempty"`
	// Path inside the repository holding the manifests; defaults to ".".
	Path string `json:"path,omitempty"`
	// Interval between fetches; defaults to 5s.
	Interval *metav1.Duration `json:"interval,omitempty"`
	// Prune deletes objects that left the repository; defaults to true.
	Prune *bool `json:"prune,omitempty"`
	// SelfHeal undoes changes made outside git; defaults to true.
	SelfHeal *bool `json:"selfHeal,omitempty"`
	// Suspend stops syncing while true.
	Suspend bool `json:"suspend,omitempty"`
	// DriftBranch, when set, receives commits that report live drift: the live
	// object as YAML at the path of the file that declared it, on top of the applied
	// revision, so that the drift can be reviewed and adopted through a pull request.
	DriftBranch string `json:"driftBranch,omitempty"`
	// DriftAuthor is the author of drift commits (default berth <berth@localhost>).
	DriftAuthor *CommitAuthor `json:"driftAuthor,omitempty"`
	// SecretRef names a Secret in the GitSource's namespace with credentials:
	// username/password or token for HTTPS, identity and known_hosts for SSH.
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`
	// WebhookSecretRef names a Secret in the GitSource's namespace whose key "token"
	// verifies push webhooks (POST /hooks/git/<namespace>/<name>); without it the
	// webhook is refused.
	WebhookSecretRef *LocalObjectReference `json:"webhookSecretRef,omitempty"`
}

// CommitAuthor is the author of a commit berth makes.
type CommitAuthor struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// LocalObjectReference names an object in the same namespace.
type LocalObjectReference struct {
	Name string `json:"name"`
}

// GitSourceStatus is what the sync controller last observed and did.
type GitSourceStatus struct {
	// ObservedGeneration is the spec generation the status describes.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Revision is the commit last fetched.
	Revision string `json:"revision,omitempty"`
	// RevisionMessage is the subject line of Revision's commit message.
	RevisionMessage string `json:"revisionMessage,omitempty"`
	// AppliedRevision is the commit whose manifests are live.
	AppliedRevision string `json:"appliedRevision,omitempty"`
	// Phase is one of Synced, OutOfSync, Progressing, Degraded, Failed.
	Phase string `json:"phase,omitempty"`
	// Message explains the phase in a sentence.
	Message string `json:"message,omitempty"`
	// Health is the worst health of the source's objects: Healthy, Progressing or Degraded.
	Health string `json:"health,omitempty"`
	// LastError is the last sync error in full.
	LastError string `json:"lastError,omitempty"`
	// Errors lists every error of the last revision tried, with file:line, object and field.
	Errors []string `json:"errors,omitempty"`
	// LastSyncTime is when the last sync finished.
	LastSyncTime *metav1.Time `json:"lastSyncTime,omitempty"`
	// Timings of the last sync's stages.
	Timings *SyncTimings `json:"timings,omitempty"`
	// Objects is the state and health of the objects the source manages: all of
	// them up to a thousand, else the thousand that most need attention (failed,
	// out of sync, drifted, degraded, progressing, changed) with ObjectsOmitted
	// counting the rest.
	Objects []ManagedObject `json:"objects,omitempty"`
	// ObjectCount is how many objects the last sync handled.
	ObjectCount int `json:"objectCount,omitempty"`
	// ObjectsOmitted is how many of them Objects leaves out.
	ObjectsOmitted int `json:"objectsOmitted,omitempty"`
	// Conditions are the standard Ready/Reconciling/Stalled conditions.
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// SyncTimings say how long each stage of a sync took.
type SyncTimings struct {
	Fetch metav1.Duration `json:"fetch"`
	Plan  metav1.Duration `json:"plan"`
	Apply metav1.Duration `json:"apply"`
}

// ManagedObject is one object of a source, with its sync state and health.
type ManagedObject struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	// State is what the last sync did: created, configured, unchanged, pruned,
	// failed, or out-of-sync (changed outside git, selfHeal off).
	State string `json:"state,omitempty"`
	// Drift lists the fields last found changed outside git.
	Drift []string `json:"drift,omitempty"`
	// Health is Healthy, Progressing, Degraded or Unknown.
	Health string `json:"health,omitempty"`
	// Message explains the health.
	Message string `json:"message,omitempty"`
}

// GitSourceList is a list of GitSources.
type GitSourceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []GitSource `json:"items"`
}
