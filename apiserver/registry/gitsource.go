package registry

import (
	"strings"
	"time"
	"unicode"

	berthv1 "github.com/berth-dev/berth/api/v1alpha1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// GitSource defaults and limits.
const (
	defaultGitBranch   = "main"
	defaultGitPath     = "."
	defaultGitInterval = 5 * time.Second
	minGitInterval     = time.Second
	// shortRevisionLen is how much of a commit the Revision column shows.
	shortRevisionLen = 8
)

// gitURLSchemes are the URL schemes a GitSource may fetch from.
var gitURLSchemes = []string{"file", "git", "http", "https", "ssh"}

// GitSources describes gitsource (GitSource).
func GitSources() *Kind {
	return &Kind{
		GroupVersion:     BerthV1alpha1,
		Kind:             "GitSource",
		Resource:         "gitsources",
		Singular:         "gitsource",
		ShortNames:       []string{"gs"},
		Categories:       nil,
		Namespaced:       true,
		HasStatus:        true,
		Generation:       true,
		New:              func() runtime.Object { return &berthv1.GitSource{} },
		NewList:          func() runtime.Object { return &berthv1.GitSourceList{} },
		Default:          defaultGitSource,
		Validate:         validateGitSource,
		PrepareForCreate: resetStatus(func(g *berthv1.GitSource) { g.Status = berthv1.GitSourceStatus{} }),
		Columns:          gitSourceColumns,
		Row:              rowFunc(len(gitSourceColumns)-1, gitSourceRow),
	}
}

// defaultGitSource follows branch "main" when no branch, tag or commit is
// given, at path ".", every 5s, with prune and selfHeal on.
func defaultGitSource(obj runtime.Object) {
	g, ok := as[berthv1.GitSource](obj)
	if !ok {
		return
	}
	s := &g.Spec
	if s.Branch == "" && s.Tag == "" && s.Commit == "" {
		s.Branch = defaultGitBranch
	}
	if s.Path == "" {
		s.Path = defaultGitPath
	}
	if s.Interval == nil {
		s.Interval = &metav1.Duration{Duration: defaultGitInterval}
	}
	if s.Prune == nil {
		s.Prune = ptrTo(true)
	}
	if s.SelfHeal == nil {
		s.SelfHeal = ptrTo(true)
	}
}

// validateGitSource requires a URL, at most one of tag and commit, valid ref
// names, a relative path inside the repository and an interval of at least 1s.
func validateGitSource(obj runtime.Object) field.ErrorList {
	g, ok := as[berthv1.GitSource](obj)
	if !ok {
		return wrongType(obj, "*v1alpha1.GitSource")
	}
	s := &g.Spec
	p := field.NewPath("spec")
	var errs field.ErrorList
	errs = append(errs, validateGitURL(s.URL, p.Child("url"))...)
	if s.Tag != "" && s.Commit != "" {
		errs = append(errs, field.Forbidden(p.Child("commit"), "may not be set together with tag"))
	}
	errs = append(errs, validateGitRef(s.Branch, p.Child("branch"))...)
	errs = append(errs, validateGitRef(s.Tag, p.Child("tag"))...)
	errs = append(errs, validateGitRef(s.DriftBranch, p.Child("driftBranch"))...)
	if s.Commit != "" && !isHexCommit(s.Commit) {
		errs = append(errs, field.Invalid(p.Child("commit"), s.Commit, "must be a commit hash of 4 to 64 hexadecimal digits"))
	}
	if s.Path != "" && s.Path != "." {
		errs = append(errs, validateLocalDescendingPath(s.Path, p.Child("path"))...)
	}
	if s.Interval != nil && s.Interval.Duration < minGitInterval {
		errs = append(errs, field.Invalid(p.Child("interval"), s.Interval.Duration.String(), "must be at least 1s"))
	}
	if r := s.SecretRef; r != nil {
		if r.Name == "" {
			errs = append(errs, field.Required(p.Child("secretRef", "name"), ""))
		} else {
			errs = append(errs, validateNameIf(r.Name, apivalidation.NameIsDNSSubdomain, p.Child("secretRef", "name"))...)
		}
	}
	return errs
}

// validateGitURL requires a URL or path without spaces; a URL's scheme must be
// one git can fetch from.
func validateGitURL(u string, p *field.Path) field.ErrorList {
	if u == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	if strings.IndexFunc(u, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return field.ErrorList{field.Invalid(p, u, "must not contain whitespace or control characters")}
	}
	if scheme, _, ok := strings.Cut(u, "://"); ok {
		for _, s := range gitURLSchemes {
			if strings.EqualFold(scheme, s) {
				return nil
			}
		}
		return field.ErrorList{field.NotSupported(p, scheme+"://", gitURLSchemes)}
	}
	return nil
}

// validateGitRef checks a branch or tag name against git's ref rules, when set.
func validateGitRef(ref string, p *field.Path) field.ErrorList {
	if ref == "" {
		return nil
	}
	bad := strings.HasPrefix(ref, "-") || strings.HasPrefix(ref, "/") || strings.HasSuffix(ref, "/") ||
		strings.HasSuffix(ref, ".") || strings.HasSuffix(ref, ".lock") || strings.Contains(ref, "..") ||
		strings.Contains(ref, "//") || strings.Contains(ref, "@{") || ref == "@" ||
		strings.ContainsAny(ref, " ~^:?*[\\") ||
		strings.IndexFunc(ref, func(r rune) bool { return unicode.IsControl(r) }) >= 0
	if bad {
		return field.ErrorList{field.Invalid(p, ref, "must be a valid git reference name")}
	}
	return nil
}

// isHexCommit reports a full or abbreviated commit hash.
func isHexCommit(c string) bool {
	if len(c) < 4 || len(c) > 64 {
		return false
	}
	for _, r := range c {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

// gitSourceColumns are the columns of `kubectl get gitsources`.
var gitSourceColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "URL", Type: "string", Description: "URL of the repository."},
	{Name: "Revision", Type: "string", Description: "The commit last fetched."},
	{Name: "Phase", Type: "string", Description: "Synced, OutOfSync, Progressing, Degraded or Failed."},
	ageColumn,
}

// gitSourceRow renders the URL, the short revision, the phase and the age.
func gitSourceRow(g *berthv1.GitSource, now time.Time) []interface{} {
	rev := g.Status.Revision
	if len(rev) > shortRevisionLen {
		rev = rev[:shortRevisionLen]
	}
	return []interface{}{g.Spec.URL, rev, g.Status.Phase, translateTimestampSince(g.CreationTimestamp, now)}
}
