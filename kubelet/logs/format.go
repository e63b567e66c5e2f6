package logs

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// Stream names as they appear in a log file.
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

// Tags: a full line, or a fragment of a longer line continued by the
// stream's next entry.
const (
	tagFull    = "F"
	tagPartial = "P"
)

// timestampFormat is the CRI log format's timestamp: RFC 3339 in UTC with
// nanoseconds always written out, so every entry's prefix has one width.
const timestampFormat = "2006-01-02T15:04:05.000000000Z07:00"

// Entry is one line of a log file: a line, or a fragment of one, that a
// container wrote to one of its streams.
type Entry struct {
	// Time is when the line was read from the container.
	Time time.Time
	// Stream is Stdout or Stderr.
	Stream string
	// Partial says that the line goes on in the stream's next entry.
	Partial bool
	// Msg is the line without its newline.
	Msg []byte
}

// AppendEntry appends e to dst in the CRI log format,
// "2026-11-23T05:00:00.123456789Z stdout F message\n", and returns the
// extended buffer.
func AppendEntry(dst []byte, e Entry) []byte {
	dst = e.Time.UTC().AppendFormat(dst, timestampFormat)
	dst = append(dst, ' ')
	dst = append(dst, e.Stream...)
	dst = append(dst, ' ')
	if e.Partial {
		dst = append(dst, tagPartial...)
	} else {
		dst = append(dst, tagFull...)
	}
	dst = append(dst, ' ')
	dst = append(dst, e.Msg...)
	return append(dst, '\n')
}

// errMalformed is wrapped by ParseEntry's errors.
var errMalformed = errors.New("malformed log line")

// ParseEntry parses one line of a log file, with or without its newline.
// Msg shares line's memory. Tags other than the first of a ':'-separated
// list are ignored, as CRI allows.
func ParseEntry(line []byte) (Entry, error) {
	line = bytes.TrimSuffix(line, []byte("\n"))
	var e Entry
	ts, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok {
		return e, fmt.Errorf("%w: no stream after the timestamp", errMalformed)
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return e, fmt.Errorf("%w: timestamp: %v", errMalformed, err)
	}
	stream, rest, ok := bytes.Cut(rest, []byte(" "))
	if !ok {
		return e, fmt.Errorf("%w: no tag after the stream", errMalformed)
	}
	switch string(stream) {
	case Stdout:
		e.Stream = Stdout
	case Stderr:
		e.Stream = Stderr
	default:
		return e, fmt.Errorf("%w: unknown stream %q", errMalformed, stream)
	}
	tags, msg, ok := bytes.Cut(rest, []byte(" "))
	if !ok {
		// "ts stdout F" with nothing after: an empty line.
		tags, msg = rest, nil
	}
	first, _, _ := bytes.Cut(tags, []byte(":"))
	switch string(first) {
	case tagFull:
	case tagPartial:
		e.Partial = true
	default:
		return e, fmt.Errorf("%w: unknown tag %q", errMalformed, tags)
	}
	e.Time = t
	e.Msg = msg
	return e, nil
}
