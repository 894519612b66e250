package benchproc

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// floorFigure is bench/floor's result line: "... : 1.147 ms CPU per
// reader-second (user 0.343, sys 0.804); ...".
var floorFigure = regexp.MustCompile(`: ([0-9.]+) ms CPU per reader-second \(user ([0-9.]+), sys ([0-9.]+)\)`)

// FloorResult is one run of bench/floor: the kernel's own cost of a
// fan-out pattern with no server code on top.
type FloorResult struct {
	// MsPerReaderSec is the sender's CPU per reader-second (user + sys).
	MsPerReaderSec float64
	User, Sys      float64
	// Line is the floor's result line as printed.
	Line string
}

// Floor runs the bench/floor binary bin (see Build) for mode "tcp" (the FLV
// pattern) or "udp" (the WebRTC pattern) with n readers over window, so a
// fan-out benchmark can print its figure and the floor side by side from
// one run on one machine.
func Floor(bin, mode string, n int, window time.Duration) (FloorResult, error) {
	out, err := exec.Command(bin, "-mode", mode, "-n", strconv.Itoa(n), "-duration", window.String()).CombinedOutput()
	if err != nil {
		return FloorResult{}, fmt.Errorf("floor -mode %s -n %d: %v\n%s", mode, n, err, out)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		m := floorFigure.FindStringSubmatch(line)
		if m == nil || !strings.HasPrefix(line, "floor "+mode) {
			continue
		}
		r := FloorResult{Line: line}
		r.MsPerReaderSec, _ = strconv.ParseFloat(m[1], 64)
		r.User, _ = strconv.ParseFloat(m[2], 64)
		r.Sys, _ = strconv.ParseFloat(m[3], 64)
		return r, nil
	}
	return FloorResult{}, fmt.Errorf("floor -mode %s -n %d printed no result line:\n%s", mode, n, out)
}
