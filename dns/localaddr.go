package dns

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/kubelet/network"
)

// DefaultLocalAddress is the node-local address the server listens on by
// default, as NodeLocal DNSCache's.
var DefaultLocalAddress = netip.MustParseAddr("169.254.20.10")

// AddLocalAddress puts addr, as a /32 (or /128), on the loopback interface
// of the network namespace at netnsPath (the process's own when empty), so
// that the node and its pods (whose default route leads to the node) reach
// a server listening there. NodeLocal DNSCache uses a dummy interface; lo
// needs no driver. It is idempotent: an address already there is no error.
func AddLocalAddress(netnsPath string, addr netip.Addr) error {
	err := inNetNS(netnsPath, func() error { return changeLoopbackAddr(unix.RTM_NEWADDR, addr) })
	if err != nil {
		return fmt.Errorf("add %s to lo: %w", addr, err)
	}
	return nil
}

// RemoveLocalAddress takes addr off the loopback interface of the network
// namespace at netnsPath (the process's own when empty). An address that is
// not there is no error.
func RemoveLocalAddress(netnsPath string, addr netip.Addr) error {
	err := inNetNS(netnsPath, func() error { return changeLoopbackAddr(unix.RTM_DELADDR, addr) })
	if err != nil {
		return fmt.Errorf("remove %s from lo: %w", addr, err)
	}
	return nil
}

// inNetNS runs fn in the network namespace at path, or where it is when
// path is empty.
func inNetNS(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	return network.Do(path, fn)
}

// changeLoopbackAddr adds (RTM_NEWADDR) or deletes (RTM_DELADDR) a host
// address on lo through rtnetlink, in the calling thread's namespace.
func changeLoopbackAddr(op uint16, addr netip.Addr) error {
	if !addr.IsValid() {
		return errors.New("invalid address")
	}
	addr = addr.Unmap()
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		return fmt.Errorf("find lo: %w", err)
	}
	family, bits := unix.AF_INET, 32
	if addr.Is6() {
		family, bits = unix.AF_INET6, 128
	}
	flags := uint16(unix.NLM_F_REQUEST | unix.NLM_F_ACK)
	if op == unix.RTM_NEWADDR {
		flags |= unix.NLM_F_CREATE | unix.NLM_F_EXCL
	}
	msg := addrMessage(op, flags, family, bits, lo.Index, addr.AsSlice())
	err = netlinkRequest(msg)
	switch {
	case op == unix.RTM_NEWADDR && errors.Is(err, unix.EEXIST):
		return nil
	case op == unix.RTM_DELADDR && (errors.Is(err, unix.EADDRNOTAVAIL) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH)):
		return nil
	}
	return err
}

// addrMessage encodes an rtnetlink address request: nlmsghdr, ifaddrmsg,
// and the IFA_LOCAL and IFA_ADDRESS attributes.
func addrMessage(op, flags uint16, family, bits, index int, ip []byte) []byte {
	attr := func(typ uint16, data []byte) []byte {
		b := make([]byte, unix.NLA_HDRLEN, nlaAlign(unix.NLA_HDRLEN+len(data)))
		binary.NativeEndian.PutUint16(b[0:], uint16(unix.NLA_HDRLEN+len(data)))
		binary.NativeEndian.PutUint16(b[2:], typ)
		b = append(b, data...)
		return b[:cap(b)]
	}
	body := make([]byte, unix.SizeofIfAddrmsg)
	body[0] = byte(family)
	body[1] = byte(bits)
	body[2] = 0 // flags
	body[3] = unix.RT_SCOPE_UNIVERSE
	binary.NativeEndian.PutUint32(body[4:], uint32(index))
	body = append(body, attr(unix.IFA_LOCAL, ip)...)
	body = append(body, attr(unix.IFA_ADDRESS, ip)...)

	msg := make([]byte, unix.NLMSG_HDRLEN, unix.NLMSG_HDRLEN+len(body))
	binary.NativeEndian.PutUint32(msg[0:], uint32(unix.NLMSG_HDRLEN+len(body)))
	binary.NativeEndian.PutUint16(msg[4:], op)
	binary.NativeEndian.PutUint16(msg[6:], flags)
	binary.NativeEndian.PutUint32(msg[8:], 1) // sequence number
	return append(msg, body...)
}

// nlaAlign rounds n up to netlink's attribute alignment.
func nlaAlign(n int) int { return (n + unix.NLA_ALIGNTO - 1) &^ (unix.NLA_ALIGNTO - 1) }

// netlinkRequest sends one rtnetlink request and waits for its
// acknowledgement, returning the kernel's error.
func netlinkRequest(msg []byte) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("open netlink socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("bind netlink socket: %w", err)
	}
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("send netlink request: %w", err)
	}
	buf := make([]byte, 8192)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return fmt.Errorf("read netlink reply: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return fmt.Errorf("parse netlink reply: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Seq != 1 || m.Header.Type != unix.NLMSG_ERROR {
				continue
			}
			if len(m.Data) < 4 {
				return errors.New("short netlink error message")
			}
			if code := int32(binary.NativeEndian.Uint32(m.Data[:4])); code != 0 {
				return unix.Errno(-code)
			}
			return nil
		}
	}
}
