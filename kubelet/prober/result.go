package prober

// Result is the outcome of a probe.
type Result int

// The results of a probe. Unknown is a probe that could not be run (its
// result is thrown away by a Worker, as the kubelet's).
const (
	Unknown Result = iota
	Success
	Failure
)

// String returns the kubelet's name of r.
func (r Result) String() string {
	switch r {
	case Success:
		return "Success"
	case Failure:
		return "Failure"
	default:
		return "UNKNOWN"
	}
}

// Kind is the kind of a probe.
type Kind int

// The kinds of probe.
const (
	Liveness Kind = iota
	Readiness
	Startup
)

// String returns the kubelet's name of k.
func (k Kind) String() string {
	switch k {
	case Liveness:
		return "Liveness"
	case Readiness:
		return "Readiness"
	case Startup:
		return "Startup"
	default:
		return "Unknown"
	}
}
