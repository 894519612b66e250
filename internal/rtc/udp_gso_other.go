//go:build !linux

package rtc

import "errors"

const gsoSupported = false

func (d *UDPDest) sendGSO() error { return errors.ErrUnsupported }
