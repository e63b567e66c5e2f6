package registry

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validateProbe checks a probe: exactly one handler, non-negative timings,
// and successThreshold 1 for liveness and startup probes.
func validateProbe(probe *corev1.Probe, p *field.Path, mustSucceedOnce bool) field.ErrorList {
	if probe == nil {
		return nil
	}
	h := probe.ProbeHandler
	errs := validateHandler(h.Exec, h.HTTPGet, h.TCPSocket, h.GRPC, nil, nil, p)
	errs = append(errs, nonNegative(int64(probe.InitialDelaySeconds), p.Child("initialDelaySeconds"))...)
	errs = append(errs, nonNegative(int64(probe.TimeoutSeconds), p.Child("timeoutSeconds"))...)
	errs = append(errs, nonNegative(int64(probe.PeriodSeconds), p.Child("periodSeconds"))...)
	errs = append(errs, nonNegative(int64(probe.SuccessThreshold), p.Child("successThreshold"))...)
	errs = append(errs, nonNegative(int64(probe.FailureThreshold), p.Child("failureThreshold"))...)
	if v := probe.TerminationGracePeriodSeconds; v != nil && *v <= 0 {
		errs = append(errs, field.Invalid(p.Child("terminationGracePeriodSeconds"), *v, "must be greater than 0"))
	}
	if mustSucceedOnce && probe.SuccessThreshold != 1 {
		errs = append(errs, field.Invalid(p.Child("successThreshold"), probe.SuccessThreshold, "must be 1"))
	}
	return errs
}

// validateLifecycleHandler checks a postStart or preStop hook.
func validateLifecycleHandler(h *corev1.LifecycleHandler, grace *int64, p *field.Path) field.ErrorList {
	return validateHandler(h.Exec, h.HTTPGet, h.TCPSocket, nil, h.Sleep, grace, p)
}

// validateHandler requires exactly one handler and checks it.
func validateHandler(exec *corev1.ExecAction, httpGet *corev1.HTTPGetAction, tcp *corev1.TCPSocketAction,
	grpc *corev1.GRPCAction, sleep *corev1.SleepAction, grace *int64, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	add := func(name string, set bool, check func(*field.Path) field.ErrorList) {
		if !set {
			return
		}
		if n > 0 {
			errs = append(errs, field.Forbidden(p.Child(name), "may not specify more than 1 handler type"))
			return
		}
		n++
		errs = append(errs, check(p.Child(name))...)
	}
	add("exec", exec != nil, func(p *field.Path) field.ErrorList {
		if len(exec.Command) == 0 {
			return field.ErrorList{field.Required(p.Child("command"), "")}
		}
		return nil
	})
	add("httpGet", httpGet != nil, func(p *field.Path) field.ErrorList { return validateHTTPGetAction(httpGet, p) })
	add("tcpSocket", tcp != nil, func(p *field.Path) field.ErrorList { return validatePortNumOrName(tcp.Port, p.Child("port")) })
	add("grpc", grpc != nil, func(p *field.Path) field.ErrorList {
		var errs field.ErrorList
		errs = append(errs, invalid(p.Child("port"), grpc.Port, validation.IsValidPortNum(int(grpc.Port)))...)
		return errs
	})
	add("sleep", sleep != nil, func(p *field.Path) field.ErrorList {
		if grace != nil && (sleep.Seconds < 0 || sleep.Seconds > *grace) {
			return field.ErrorList{field.Invalid(p, sleep.Seconds, fmt.Sprintf("must be non-negative and less than terminationGracePeriodSeconds (%d)", *grace))}
		}
		return nil
	})
	if n == 0 {
		errs = append(errs, field.Required(p, "must specify a handler type"))
	}
	return errs
}

// validateHTTPGetAction checks an httpGet probe or hook.
func validateHTTPGetAction(h *corev1.HTTPGetAction, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if h.Path == "" {
		errs = append(errs, field.Required(p.Child("path"), ""))
	}
	errs = append(errs, validatePortNumOrName(h.Port, p.Child("port"))...)
	if h.Scheme != corev1.URISchemeHTTP && h.Scheme != corev1.URISchemeHTTPS {
		errs = append(errs, field.NotSupported(p.Child("scheme"), h.Scheme, supportedHTTPSchemes))
	}
	for _, hdr := range h.HTTPHeaders {
		errs = append(errs, invalid(p.Child("httpHeaders"), hdr.Name, validation.IsHTTPHeaderName(hdr.Name))...)
	}
	return errs
}

// validatePortNumOrName checks a port given as a number (1-65535) or an IANA
// service name.
func validatePortNumOrName(port intstr.IntOrString, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch port.Type {
	case intstr.Int:
		errs = append(errs, invalid(p, port.IntValue(), validation.IsValidPortNum(port.IntValue()))...)
	case intstr.String:
		errs = append(errs, invalid(p, port.StrVal, validation.IsValidPortName(port.StrVal))...)
	default:
		errs = append(errs, field.InternalError(p, fmt.Errorf("unknown type: %v", port.Type)))
	}
	return errs
}
