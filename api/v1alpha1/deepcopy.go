package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// DeepCopyInto copies the receiver into out.
func (in *GitSource) DeepCopyInto(out *GitSource) {
	*out = *in
	out.TypeMeta = in.TypeMeta
	in.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	in.Spec.DeepCopyInto(&out.Spec)
	in.Status.DeepCopyInto(&out.Status)
}

// DeepCopy returns a deep copy of the GitSource.
func (in *GitSource) DeepCopy() *GitSource {
	if in == nil {
		return nil
	}
	out := new(GitSource)
	in.DeepCopyInto(out)
	return out
}

// DeepCopyObject implements runtime.Object.
func (in *GitSource) DeepCopyObject() runtime.Object { return in.DeepCopy() }

// DeepCopyInto copies the receiver into out.
func (in *GitSourceSpec) DeepCopyInto(out *GitSourceSpec) {
	*out = *in
	if in.Interval != nil {
		d := *in.Interval
		out.Interval = &d
	}
	if in.Prune != nil {
		b := *in.Prune
		out.Prune = &b
	}
	if in.SelfHeal != nil {
		b := *in.SelfHeal
		out.SelfHeal = &b
	}
	if in.SecretRef != nil {
		r := *in.SecretRef
		out.SecretRef = &r
	}
	if in.DriftAuthor != nil {
		a := *in.DriftAuthor
		out.DriftAuthor = &a
	}
	if in.WebhookSecretRef != nil {
		r := *in.WebhookSecretRef
		out.WebhookSecretRef = &r
	}
}

// DeepCopyInto copies the receiver into out.
func (in *GitSourceStatus) DeepCopyInto(out *GitSourceStatus) {
	*out = *in
	if in.Errors != nil {
		out.Errors = append([]string(nil), in.Errors...)
	}
	if in.LastSyncTime != nil {
		out.LastSyncTime = in.LastSyncTime.DeepCopy()
	}
	if in.Timings != nil {
		t := *in.Timings
		out.Timings = &t
	}
	if in.Objects != nil {
		out.Objects = make([]ManagedObject, len(in.Objects))
		for i := range in.Objects {
			out.Objects[i] = in.Objects[i]
			out.Objects[i].Drift = append([]string(nil), in.Objects[i].Drift...)
		}
	}
	if in.Conditions != nil {
		out.Conditions = make([]metav1.Condition, len(in.Conditions))
		for i := range in.Conditions {
			in.Conditions[i].DeepCopyInto(&out.Conditions[i])
		}
	}
}

// DeepCopyInto copies the receiver into out.
func (in *GitSourceList) DeepCopyInto(out *GitSourceList) {
	*out = *in
	out.TypeMeta = in.TypeMeta
	in.ListMeta.DeepCopyInto(&out.ListMeta)
	if in.Items != nil {
		out.Items = make([]GitSource, len(in.Items))
		for i := range in.Items {
			in.Items[i].DeepCopyInto(&out.Items[i])
		}
	}
}

// DeepCopy returns a deep copy of the list.
func (in *GitSourceList) DeepCopy() *GitSourceList {
	if in == nil {
		return nil
	}
	out := new(GitSourceList)
	in.DeepCopyInto(out)
	return out
}

// DeepCopyObject implements runtime.Object.
func (in *GitSourceList) DeepCopyObject() runtime.Object { return in.DeepCopy() }
