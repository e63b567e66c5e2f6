// Package logs writes and reads container log files in the CRI log format.
//
// Every line a container writes becomes one entry of its log file:
//
//	2026-11-23T05:00:00.123456789Z stdout F hello
//	2026-11-23T05:00:00.200000000Z stderr P the first 16 KiB of a long line…
//	2026-11-23T05:00:00.200000001Z stderr F …and its end
//
// the time it was read (UTC, nanoseconds), the stream, a tag (F for a full
// line, P for a fragment that the stream's next entry continues) and the
// line without its newline. It is the format kubelets and CRI runtimes use,
// so the files read like those under /var/log/pods.
//
// # Writing
//
// A container's output is not copied by the kubelet but by a log driver
// that containerd's shim starts beside the container: `berth log-driver
// SPEC` (see DriverCommand and RunDriver). It outlives a kubelet restart and
// ends with the container's task. It writes through a Writer, which rotates
// the file at a size limit: path is renamed to path.1, replacing the one
// before, and a new path is begun.
//
//	w, err := logs.NewWriter("/var/lib/berth/pods/UID/app/0.log", logs.WriterOptions{MaxSize: 10 << 20})
//	go logs.CopyLines(w, logs.Stdout, stdout)
//	go logs.CopyLines(w, logs.Stderr, stderr)
//
// # Reading
//
// ReadLogs serves a kubelet's containerLogs endpoint: it writes the lines of
// path.1 and path as the container wrote them, honouring the options of
// Kubernetes' pods/log (follow, tailLines, limitBytes, sinceTime,
// timestamps):
//
//	err := logs.ReadLogs(ctx, path, logs.ReadOptions{Follow: true, Done: exited, TailLines: &ten}, w)
//
// Which file holds the previous attempt of a container is the kubelet's
// choice, by file name.
package logs
