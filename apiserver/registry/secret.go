package registry

import (
	"encoding/json"
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// redacted stands in for secret contents in error values.
const redacted = "<secret contents redacted>"

// Secrets describes secret (Secret).
func Secrets() *Kind {
	return &Kind{
		GroupVersion:   CoreV1,
		Kind:           "Secret",
		Resource:       "secrets",
		Singular:       "secret",
		ShortNames:     nil,
		Categories:     nil,
		Namespaced:     true,
		HasStatus:      false,
		Generation:     false,
		New:            func() runtime.Object { return &corev1.Secret{} },
		NewList:        func() runtime.Object { return &corev1.SecretList{} },
		Default:        defaultSecret,
		Validate:       validateSecret,
		ValidateUpdate: validateSecretUpdate,
		Fields:         secretFields,
		Columns:        secretColumns,
		Row:            rowFunc(len(secretColumns)-1, secretRow),
	}
}

// defaultSecret sets type Opaque and moves stringData into data, as the v1
// conversion does: stringData is write-only and wins over data.
func defaultSecret(obj runtime.Object) {
	s, ok := as[corev1.Secret](obj)
	if !ok {
		return
	}
	if s.Type == "" {
		s.Type = corev1.SecretTypeOpaque
	}
	if len(s.StringData) > 0 {
		if s.Data == nil {
			s.Data = make(map[string][]byte, len(s.StringData))
		}
		for k, v := range s.StringData {
			s.Data[k] = []byte(v)
		}
	}
	s.StringData = nil
}

// validateSecret checks keys, the 1 MiB size limit and the keys each known
// type requires.
func validateSecret(obj runtime.Object) field.ErrorList {
	s, ok := as[corev1.Secret](obj)
	if !ok {
		return wrongType(obj, "*v1.Secret")
	}
	dataPath := field.NewPath("data")
	var errs field.ErrorList
	total := 0
	for _, k := range sortedKeys(s.Data) {
		errs = append(errs, validateConfigMapKey(k, dataPath.Key(k))...)
		total += len(s.Data[k])
	}
	for _, k := range sortedKeys(s.StringData) {
		errs = append(errs, validateConfigMapKey(k, field.NewPath("stringData").Key(k))...)
	}
	if total > corev1.MaxSecretSize {
		errs = append(errs, field.TooLong(dataPath, "", corev1.MaxSecretSize))
	}
	require := func(keys ...string) {
		for _, k := range keys {
			if _, ok := s.Data[k]; !ok {
				errs = append(errs, field.Required(dataPath.Key(k), ""))
			}
		}
	}
	requireJSON := func(key string) {
		b, ok := s.Data[key]
		if !ok {
			require(key)
			return
		}
		if err := json.Unmarshal(b, &map[string]interface{}{}); err != nil {
			errs = append(errs, field.Invalid(dataPath.Key(key), redacted, err.Error()))
		}
	}
	switch s.Type {
	case corev1.SecretTypeServiceAccountToken:
		if s.Annotations[corev1.ServiceAccountNameKey] == "" {
			errs = append(errs, field.Required(field.NewPath("metadata", "annotations").Key(corev1.ServiceAccountNameKey), ""))
		}
	case corev1.SecretTypeDockercfg:
		requireJSON(corev1.DockerConfigKey)
	case corev1.SecretTypeDockerConfigJson:
		requireJSON(corev1.DockerConfigJsonKey)
	case corev1.SecretTypeBasicAuth:
		_, user := s.Data[corev1.BasicAuthUsernameKey]
		_, pass := s.Data[corev1.BasicAuthPasswordKey]
		if !user && !pass {
			require(corev1.BasicAuthUsernameKey, corev1.BasicAuthPasswordKey)
		}
	case corev1.SecretTypeSSHAuth:
		if len(s.Data[corev1.SSHAuthPrivateKey]) == 0 {
			errs = append(errs, field.Required(dataPath.Key(corev1.SSHAuthPrivateKey), ""))
		}
	case corev1.SecretTypeTLS:
		require(corev1.TLSCertKey, corev1.TLSPrivateKeyKey)
	}
	return errs
}

// validateSecretUpdate keeps the type, and data once immutable is true.
func validateSecretUpdate(obj, old runtime.Object) field.ErrorList {
	s, ok1 := as[corev1.Secret](obj)
	o, ok2 := as[corev1.Secret](old)
	if !ok1 || !ok2 {
		return wrongType(obj, "*v1.Secret")
	}
	errs := validateImmutable(s.Type, o.Type, field.NewPath("type"))
	if o.Immutable != nil && *o.Immutable {
		if s.Immutable == nil || !*s.Immutable {
			errs = append(errs, field.Forbidden(field.NewPath("immutable"), immutableMsg))
		}
		if !reflect.DeepEqual(s.Data, o.Data) {
			errs = append(errs, field.Forbidden(field.NewPath("data"), immutableMsg))
		}
	}
	return errs
}

// secretFields adds type to the selectable fields.
func secretFields(obj runtime.Object) fields.Set {
	s, ok := as[corev1.Secret](obj)
	if !ok {
		return nil
	}
	return fields.Set{"type": string(s.Type)}
}

// secretColumns are the columns of `kubectl get secrets`.
var secretColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Type", Type: "string", Description: corev1.Secret{}.SwaggerDoc()["type"]},
	{Name: "Data", Type: "string", Description: corev1.Secret{}.SwaggerDoc()["data"]},
	ageColumn,
}

// secretRow renders the type, number of keys and age.
func secretRow(s *corev1.Secret, now time.Time) []interface{} {
	return []interface{}{string(s.Type), int64(len(s.Data)), translateTimestampSince(s.CreationTimestamp, now)}
}
