package logs

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// MaxLineSize is the longest line written as one entry; longer lines are
// split into partial entries of at most this size.
const MaxLineSize = 16 << 10

// WriterOptions configures NewWriter.
type WriterOptions struct {
	// MaxSize rotates the file once it would grow past this many bytes:
	// path is renamed to path.1 (replacing the previous one) and a new path
	// is started. Zero or less: never rotate.
	MaxSize int64
	// Now is the clock stamped on entries. Default time.Now.
	Now func() time.Time
}

// Writer appends a container's output to a log file in the CRI log format,
// rotating it at a size limit. It is safe for concurrent use, so stdout and
// stderr can be copied into one Writer at once; each entry is one write.
type Writer struct {
	path    string
	maxSize int64
	now     func() time.Time

	mu   sync.Mutex // guards the fields below
	f    *os.File
	size int64
	buf  []byte
}

// NewWriter opens path for appending (creating it and its directory if
// needed), so that a writer started again goes on after what is there.
func NewWriter(path string, opts WriterOptions) (*Writer, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	w := &Writer{path: path, maxSize: opts.MaxSize, now: opts.Now}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("open log %s: %w", path, err)
	}
	if err := w.openLocked(); err != nil {
		return nil, err
	}
	return w, nil
}

// openLocked opens w.path for appending and records its size.
func (w *Writer) openLocked() error {
	f, err := os.OpenFile(w.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("open log %s: %w", w.path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open log %s: %w", w.path, err)
	}
	w.f, w.size = f, st.Size()
	return nil
}

// WriteEntry stamps msg with the current time and appends it as one entry of
// stream. msg must not contain a newline.
func (w *Writer) WriteEntry(stream string, partial bool, msg []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return fmt.Errorf("write log %s: %w", w.path, os.ErrClosed)
	}
	w.buf = AppendEntry(w.buf[:0], Entry{Time: w.now(), Stream: stream, Partial: partial, Msg: msg})
	if w.maxSize > 0 && w.size > 0 && w.size+int64(len(w.buf)) > w.maxSize {
		if err := w.rotateLocked(); err != nil {
			return err
		}
	}
	n, err := w.f.Write(w.buf)
	w.size += int64(n)
	if err != nil {
		return fmt.Errorf("write log %s: %w", w.path, err)
	}
	return nil
}

// rotateLocked renames the file to path.1 and starts a new one.
func (w *Writer) rotateLocked() error {
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("rotate log %s: %w", w.path, err)
	}
	w.f = nil
	if err := os.Rename(w.path, w.path+".1"); err != nil {
		// Go on in the same file rather than lose output.
		if oerr := w.openLocked(); oerr != nil {
			return errors.Join(fmt.Errorf("rotate log %s: %w", w.path, err), oerr)
		}
		return fmt.Errorf("rotate log %s: %w", w.path, err)
	}
	return w.openLocked()
}

// Close closes the file. Later writes fail.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

// CopyLines reads r until it ends and writes each line as an entry of
// stream, splitting lines longer than MaxLineSize into partial entries. A
// last line without a newline is written as a full one. It keeps reading
// after a failed write, so that the container never blocks on a full pipe,
// and returns the first write error, or the read error other than io.EOF.
func CopyLines(w *Writer, stream string, r io.Reader) error {
	br := bufio.NewReaderSize(r, MaxLineSize)
	var werr error
	write := func(partial bool, msg []byte) {
		if err := w.WriteEntry(stream, partial, msg); err != nil && werr == nil {
			werr = err
		}
	}
	for {
		line, err := br.ReadSlice('\n')
		switch {
		case err == nil:
			write(false, line[:len(line)-1])
			continue
		case errors.Is(err, bufio.ErrBufferFull):
			write(true, line)
			continue
		}
		if len(line) > 0 {
			write(false, line)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, os.ErrClosed) {
			return werr
		}
		return errors.Join(werr, fmt.Errorf("read %s: %w", stream, err))
	}
}
