package offlinetest

import (
	"encoding/hex"
	"time"
)

const time1h = time.Hour

func hexOf(b []byte) string { return hex.EncodeToString(b) }
