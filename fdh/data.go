// Package fdh runs Guard's features and the model package on the Fraud
// Detection Handbook's simulated card transactions (Le Borgne et al., ULB),
// under the handbook's evaluation protocol: features from earlier history
// only, labels known 7 days after the transaction, known-compromised
// customers left out of the test set and card precision@100 per day. It is
// how xiaobao's models are compared with published baselines.
package fdh

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/xiaobao-org/xiaobao"
)

// Tx is one transaction of the handbook's data.
type Tx struct {
	ID       int64
	Time     int64 // Unix seconds, UTC
	Customer int32
	Terminal int32
	Amount   float64
	Fraud    int8 // 1 fraud, 0 genuine, -1 unknown (no label column)
	Scenario int8
}

// Day returns the UTC calendar day of the transaction, in days since 1970.
func (t *Tx) Day() int64 { return floorDiv(t.Time, 86400) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// LoadFile reads a handbook CSV, gzipped or not.
func LoadFile(path string) ([]Tx, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	defer f.Close()
	txs, err := Load(f)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return txs, nil
}

// Load reads a handbook CSV (gzip is detected) streaming, in file order.
// TX_FRAUD and TX_FRAUD_SCENARIO are optional: a test file may come without
// labels.
func Load(r io.Reader) ([]Tx, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 1<<20)
	}
	header, err := br.ReadString('\n')
	if err != nil && header == "" {
		return nil, xiaobao.Errorf(xiaobao.EINVALID, "empty file: want a header line")
	}
	col := map[string]int{}
	for i, name := range bytes.Split(bytes.TrimRight([]byte(header), "\r\n"), []byte(",")) {
		col[string(name)] = i
	}
	const (
		cID = iota
		cTime
		cCustomer
		cTerminal
		cAmount
		cFraud
		cScenario
		nCols
	)
	names := [nCols]string{"TRANSACTION_ID", "TX_DATETIME", "CUSTOMER_ID", "TERMINAL_ID", "TX_AMOUNT", "TX_FRAUD", "TX_FRAUD_SCENARIO"}
	var at [nCols]int
	maxCol := 0
	for k, name := range names {
		i, ok := col[name]
		if !ok {
			if k < cFraud {
				return nil, xiaobao.Errorf(xiaobao.EINVALID, "header has no %s column", name)
			}
			i = -1
		}
		at[k] = i
		maxCol = max(maxCol, i)
	}
	var txs []Tx
	fields := make([][]byte, 0, 16)
	for line := 2; ; line++ {
		b, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			return nil, xiaobao.Errorf(xiaobao.EINVALID, "line %d: too long", line)
		}
		b = bytes.TrimRight(b, "\r\n")
		if len(b) > 0 {
			fields = fields[:0]
			for len(b) > 0 {
				i := bytes.IndexByte(b, ',')
				if i < 0 {
					fields = append(fields, b)
					break
				}
				fields = append(fields, b[:i])
				b = b[i+1:]
			}
			if len(fields) <= maxCol {
				return nil, xiaobao.Errorf(xiaobao.EINVALID, "line %d: %d fields, want %d", line, len(fields), maxCol+1)
			}
			tx := Tx{Fraud: -1}
			var perr error
			num := func(k int) int64 {
				v, err := strconv.ParseInt(string(fields[at[k]]), 10, 64)
				if err != nil && perr == nil {
					perr = fmt.Errorf("%s: %w", names[k], err)
				}
				return v
			}
			tx.ID = num(cID)
			tx.Customer = int32(num(cCustomer))
			tx.Terminal = int32(num(cTerminal))
			if tx.Time, err = parseTime(fields[at[cTime]]); err != nil && perr == nil {
				perr = err
			}
			if tx.Amount, err = strconv.ParseFloat(string(fields[at[cAmount]]), 64); err != nil && perr == nil {
				perr = fmt.Errorf("TX_AMOUNT: %w", err)
			}
			if at[cFraud] >= 0 {
				tx.Fraud = int8(num(cFraud))
				if tx.Fraud != 0 && tx.Fraud != 1 && perr == nil {
					perr = fmt.Errorf("TX_FRAUD: %d is not 0 or 1", tx.Fraud)
				}
			}
			if at[cScenario] >= 0 {
				tx.Scenario = int8(num(cScenario))
			}
			if perr != nil {
				return nil, xiaobao.Errorf(xiaobao.EINVALID, "line %d: %v", line, perr)
			}
			txs = append(txs, tx)
		}
		if err == io.EOF {
			return txs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
	}
}

// parseTime reads "2018-04-01T00:00:31" (UTC) without time.Parse, which
// would cost more than the rest of the line.
func parseTime(b []byte) (int64, error) {
	if len(b) != 19 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != ' ') || b[13] != ':' || b[16] != ':' {
		return 0, fmt.Errorf("TX_DATETIME %q: want YYYY-MM-DDTHH:MM:SS", b)
	}
	var v [6]int
	for k, p := range [6][2]int{{0, 4}, {5, 7}, {8, 10}, {11, 13}, {14, 16}, {17, 19}} {
		for _, c := range b[p[0]:p[1]] {
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("TX_DATETIME %q: not a number", b)
			}
			v[k] = v[k]*10 + int(c-'0')
		}
	}
	if v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 60 {
		return 0, fmt.Errorf("TX_DATETIME %q: out of range", b)
	}
	return time.Date(v[0], time.Month(v[1]), v[2], v[3], v[4], v[5], 0, time.UTC).Unix(), nil
}
