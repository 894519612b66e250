//go:build !linux

package sfu

import "errors"

const gsoSupported = false

func (d *udpDest) sendGSO() error { return errors.ErrUnsupported }
