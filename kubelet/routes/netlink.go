package routes

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// Protocol is the routing protocol number on every route this package
// writes (`ip route show proto 98`): unassigned in iproute2's rt_protos, it
// marks the routes as berth's, so that they are found again after a restart
// and no other route is ever removed.
const Protocol = 98

// seq numbers netlink requests.
var seq atomic.Uint32

// listRoutes returns the unicast routes of the main table with protocol
// proto, in the calling thread's network namespace.
func listRoutes(proto uint8) ([]Route, error) {
	body := make([]byte, unix.SizeofRtMsg) // family AF_UNSPEC: every family
	msgs, err := netlinkDo(unix.RTM_GETROUTE, unix.NLM_F_DUMP, body)
	if err != nil {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	var out []Route
	for _, m := range msgs {
		if m.Header.Type != unix.RTM_NEWROUTE || len(m.Data) < unix.SizeofRtMsg {
			continue
		}
		family, dstLen, table, protocol, typ := m.Data[0], m.Data[1], m.Data[4], m.Data[5], m.Data[7]
		if protocol != proto || typ != unix.RTN_UNICAST {
			continue
		}
		attrs, err := syscall.ParseNetlinkRouteAttr(&m)
		if err != nil {
			return nil, fmt.Errorf("list routes: parse attributes: %w", err)
		}
		tableID := uint32(table)
		var dst, gw netip.Addr
		for _, a := range attrs {
			switch a.Attr.Type {
			case unix.RTA_TABLE:
				if len(a.Value) >= 4 {
					tableID = binary.NativeEndian.Uint32(a.Value)
				}
			case unix.RTA_DST:
				dst, _ = netip.AddrFromSlice(a.Value)
			case unix.RTA_GATEWAY:
				gw, _ = netip.AddrFromSlice(a.Value)
			}
		}
		if tableID != unix.RT_TABLE_MAIN || !gw.IsValid() {
			continue
		}
		if !dst.IsValid() { // a default route
			dst = netip.IPv4Unspecified()
			if family == unix.AF_INET6 {
				dst = netip.IPv6Unspecified()
			}
		}
		out = append(out, Route{Dst: netip.PrefixFrom(dst, int(dstLen)), Gateway: gw})
	}
	return out, nil
}

// writeRoute adds r to the main table with protocol proto, or replaces the
// route to the same destination, in the calling thread's namespace.
func writeRoute(r Route, proto uint8) error {
	_, err := netlinkDo(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_REPLACE|unix.NLM_F_ACK, routeMessage(r, proto))
	if err != nil {
		return fmt.Errorf("route %s: %w", r, err)
	}
	return nil
}

// deleteRoute removes r from the main table if it carries protocol proto,
// in the calling thread's namespace. A route already gone is no error.
func deleteRoute(r Route, proto uint8) error {
	_, err := netlinkDo(unix.RTM_DELROUTE, unix.NLM_F_ACK, routeMessage(r, proto))
	if err != nil && !errors.Is(err, unix.ESRCH) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("delete route %s: %w", r, err)
	}
	return nil
}

// routeMessage encodes an rtmsg and the RTA_DST and RTA_GATEWAY attributes
// of r.
func routeMessage(r Route, proto uint8) []byte {
	family := byte(unix.AF_INET)
	if r.Dst.Addr().Is6() {
		family = unix.AF_INET6
	}
	body := make([]byte, unix.SizeofRtMsg)
	body[0] = family
	body[1] = byte(r.Dst.Bits())
	body[4] = unix.RT_TABLE_MAIN
	body[5] = proto
	body[6] = unix.RT_SCOPE_UNIVERSE
	body[7] = unix.RTN_UNICAST
	body = append(body, attribute(unix.RTA_DST, r.Dst.Addr().AsSlice())...)
	return append(body, attribute(unix.RTA_GATEWAY, r.Gateway.AsSlice())...)
}

// attribute encodes one netlink attribute, padded.
func attribute(typ uint16, data []byte) []byte {
	n := unix.NLA_HDRLEN + len(data)
	b := make([]byte, (n+unix.NLA_ALIGNTO-1)&^(unix.NLA_ALIGNTO-1))
	binary.NativeEndian.PutUint16(b[0:], uint16(n))
	binary.NativeEndian.PutUint16(b[2:], typ)
	copy(b[unix.NLA_HDRLEN:], data)
	return b
}

// netlinkDo sends one rtnetlink request and reads until its acknowledgement
// (or, for a dump, NLMSG_DONE), returning the messages received and the
// kernel's error.
func netlinkDo(typ, flags uint16, body []byte) ([]syscall.NetlinkMessage, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("open netlink socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("bind netlink socket: %w", err)
	}
	n := seq.Add(1)
	msg := make([]byte, unix.NLMSG_HDRLEN, unix.NLMSG_HDRLEN+len(body))
	binary.NativeEndian.PutUint32(msg[0:], uint32(unix.NLMSG_HDRLEN+len(body)))
	binary.NativeEndian.PutUint16(msg[4:], typ)
	binary.NativeEndian.PutUint16(msg[6:], flags|unix.NLM_F_REQUEST)
	binary.NativeEndian.PutUint32(msg[8:], n)
	msg = append(msg, body...)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("send netlink request: %w", err)
	}
	var out []syscall.NetlinkMessage
	buf := make([]byte, 1<<16)
	for {
		k, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return nil, fmt.Errorf("read netlink reply: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:k])
		if err != nil {
			return nil, fmt.Errorf("parse netlink reply: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Seq != n {
				continue
			}
			switch m.Header.Type {
			case unix.NLMSG_DONE:
				return out, nil
			case unix.NLMSG_ERROR:
				if len(m.Data) < 4 {
					return nil, errors.New("short netlink error message")
				}
				if code := int32(binary.NativeEndian.Uint32(m.Data[:4])); code != 0 {
					return nil, unix.Errno(-code)
				}
				return out, nil
			default:
				out = append(out, m)
			}
		}
	}
}
