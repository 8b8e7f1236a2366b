//go:build !linux

package fire

import "time"

const hasFineSleep = false

func fineSleep(time.Duration) {}
