package logs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// followPoll is how often a following reader looks for new output.
const followPoll = 100 * time.Millisecond

// ReadOptions says what ReadLogs writes. They mirror the query of
// Kubernetes' pods/log.
type ReadOptions struct {
	// Follow keeps reading as the container writes, following rotation,
	// until ctx ends or Done is closed.
	Follow bool
	// Done, with Follow, is closed when no more output will come (the
	// container has exited): ReadLogs writes what remains and returns.
	Done <-chan struct{}
	// TailLines, if set, starts with the last this many lines (of the
	// rotated and the current file together).
	TailLines *int64
	// LimitBytes, if set, stops once this many bytes have been written.
	LimitBytes *int64
	// Since, if set, skips lines written before it.
	Since time.Time
	// Timestamps prefixes each line with its RFC 3339 timestamp and a space.
	Timestamps bool
}

// ReadLogs writes the lines of the log file at path (and of path.1 before
// it, the file rotated out last) to w as the container wrote them: messages
// only, partial entries joined into their lines, each line ending in a
// newline. Lines that are not in the CRI log format are skipped.
//
// Without Follow, a missing file is an error wrapping os.ErrNotExist; with
// Follow, ReadLogs waits for it. It returns nil once done or once
// LimitBytes is reached, and ctx.Err() when ctx ends first.
func ReadLogs(ctx context.Context, path string, opts ReadOptions, w io.Writer) error {
	out := &output{w: w, opts: opts, left: -1}
	if opts.LimitBytes != nil {
		out.left = *opts.LimitBytes
	}
	if opts.TailLines != nil {
		out.tail = &ring{max: int(max(*opts.TailLines, 0))}
	}
	err := readLogs(ctx, path, opts, out)
	if errors.Is(err, errLimit) {
		return nil
	}
	return err
}

func readLogs(ctx context.Context, path string, opts ReadOptions, out *output) error {
	cur, err := openLog(ctx, path, opts)
	if err != nil {
		return err
	}
	defer func() { cur.close() }()

	// The file rotated out last comes first.
	if old, err := os.Open(path + ".1"); err == nil {
		r := newFileReader(old)
		err := r.readTo(out, true)
		r.close()
		if err != nil {
			return err
		}
	}
	if err := cur.readTo(out, !opts.Follow); err != nil {
		return err
	}
	if err := out.endTail(); err != nil {
		return err
	}
	if !opts.Follow {
		return out.flushPartial()
	}

	tick := time.NewTicker(followPoll)
	defer tick.Stop()
	for {
		finished := false
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-opts.Done:
			finished = true
		case <-tick.C:
		}
		if err := cur.readTo(out, false); err != nil {
			return err
		}
		if rotated(path, cur.f) {
			// The writer has moved on to a new file: finish the old one.
			if err := cur.readTo(out, true); err != nil {
				return err
			}
			f, err := os.Open(path)
			if err != nil {
				return fmt.Errorf("read log %s: %w", path, err)
			}
			cur.close()
			cur = newFileReader(f)
			if err := cur.readTo(out, finished); err != nil {
				return err
			}
		}
		if finished {
			if err := cur.readTo(out, true); err != nil {
				return err
			}
			return out.flushPartial()
		}
	}
}

// openLog opens the log file; with Follow it waits until the file exists.
func openLog(ctx context.Context, path string, opts ReadOptions) (*fileReader, error) {
	for {
		f, err := os.Open(path)
		if err == nil {
			return newFileReader(f), nil
		}
		if !opts.Follow || !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("read log: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-opts.Done:
			return nil, fmt.Errorf("read log: %w", err)
		case <-time.After(followPoll):
		}
	}
}

// rotated says whether path now names another file than f.
func rotated(path string, f *os.File) bool {
	now, err := os.Stat(path)
	if err != nil {
		return false // between rename and create: not yet
	}
	was, err := f.Stat()
	if err != nil {
		return false
	}
	return !os.SameFile(now, was)
}

// fileReader reads the complete lines of a log file that may still grow.
type fileReader struct {
	f     *os.File
	br    *bufio.Reader
	carry []byte // the start of a line whose end has not been written yet
}

func newFileReader(f *os.File) *fileReader {
	return &fileReader{f: f, br: bufio.NewReaderSize(f, 64<<10)}
}

func (r *fileReader) close() {
	if r != nil && r.f != nil {
		r.f.Close()
		r.f = nil
	}
}

// readTo passes every complete line up to the end of the file to out. With
// final, a last line without its newline is passed too; otherwise it waits
// for its end in the next call.
func (r *fileReader) readTo(out *output, final bool) error {
	for {
		line, err := r.br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			r.carry = append(r.carry, line...)
			continue
		}
		if err == nil {
			if len(r.carry) > 0 {
				line = append(r.carry, line...)
				r.carry = r.carry[:0]
			}
			if err := out.line(line); err != nil {
				return err
			}
			continue
		}
		r.carry = append(r.carry, line...)
		if !errors.Is(err, io.EOF) {
			return fmt.Errorf("read log %s: %w", r.f.Name(), err)
		}
		if final && len(r.carry) > 0 {
			line := r.carry
			r.carry = nil
			return out.line(line)
		}
		return nil
	}
}

// errLimit stops reading once LimitBytes have been written.
var errLimit = errors.New("limit reached")

// logLine is a line as the container wrote it, fragments joined.
type logLine struct {
	time   time.Time
	stream string
	msg    []byte
}

// output joins entries into lines, keeps the tail and writes lines out.
type output struct {
	w       io.Writer
	opts    ReadOptions
	left    int64               // bytes still allowed; -1 for no limit
	tail    *ring               // while the tail is being gathered; nil once written
	pending map[string]*logLine // per stream, a line whose entries so far were partial
	buf     []byte
}

// line takes one line of the file.
func (o *output) line(raw []byte) error {
	e, err := ParseEntry(raw)
	if err != nil {
		return nil // not ours to judge: skip what is not a log entry
	}
	p := o.pending[e.Stream]
	if p == nil {
		p = &logLine{time: e.Time, stream: e.Stream}
	}
	p.msg = append(p.msg, e.Msg...)
	if e.Partial {
		if o.pending == nil {
			o.pending = map[string]*logLine{}
		}
		o.pending[e.Stream] = p
		return nil
	}
	delete(o.pending, e.Stream)
	return o.complete(p)
}

// complete takes a whole line: into the tail while it is gathered, else out.
func (o *output) complete(l *logLine) error {
	if !o.opts.Since.IsZero() && l.time.Before(o.opts.Since) {
		return nil
	}
	if o.tail != nil {
		o.tail.push(l)
		return nil
	}
	return o.write(l)
}

// endTail writes the gathered tail; later lines go out at once.
func (o *output) endTail() error {
	if o.tail == nil {
		return nil
	}
	lines := o.tail.lines()
	o.tail = nil
	for _, l := range lines {
		if err := o.write(l); err != nil {
			return err
		}
	}
	return nil
}

// flushPartial writes the lines whose end never came, stdout first.
func (o *output) flushPartial() error {
	for _, s := range []string{Stdout, Stderr} {
		if p := o.pending[s]; p != nil {
			delete(o.pending, s)
			if err := o.complete(p); err != nil {
				return err
			}
		}
	}
	return o.endTail()
}

// write writes one line, cut at the byte limit.
func (o *output) write(l *logLine) error {
	if o.left == 0 {
		return errLimit
	}
	o.buf = o.buf[:0]
	if o.opts.Timestamps {
		o.buf = l.time.UTC().AppendFormat(o.buf, time.RFC3339Nano)
		o.buf = append(o.buf, ' ')
	}
	o.buf = append(o.buf, l.msg...)
	o.buf = append(o.buf, '\n')
	b := o.buf
	if o.left >= 0 && int64(len(b)) > o.left {
		b = b[:o.left]
	}
	if _, err := o.w.Write(b); err != nil {
		return fmt.Errorf("write logs: %w", err)
	}
	if o.left >= 0 {
		o.left -= int64(len(b))
		if o.left == 0 {
			return errLimit
		}
	}
	return nil
}

// ring keeps the last max lines pushed.
type ring struct {
	max   int
	buf   []*logLine
	start int
}

func (r *ring) push(l *logLine) {
	if r.max == 0 {
		return
	}
	if len(r.buf) < r.max {
		r.buf = append(r.buf, l)
		return
	}
	r.buf[r.start] = l
	r.start = (r.start + 1) % r.max
}

// lines returns the kept lines, oldest first.
func (r *ring) lines() []*logLine {
	return append(append([]*logLine(nil), r.buf[r.start:]...), r.buf[:r.start]...)
}
