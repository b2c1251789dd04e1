// Command gent2s writes faq/t2s.txt from OpenCC's TSCharacters.txt:
//
//	go run ./faq/internal/gent2s PATH/TO/OpenCC/dictionary/TSCharacters.txt > faq/t2s.txt
package main

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strings"
	"unicode/utf8"
)

func main() {
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	m := map[rune]rune{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), "\t")
		if len(parts) < 2 {
			continue
		}
		k := parts[0]
		v := strings.Fields(parts[1])
		if len(v) == 0 || utf8.RuneCountInString(k) != 1 || utf8.RuneCountInString(v[0]) != 1 {
			continue
		}
		kr, _ := utf8.DecodeRuneInString(k)
		vr, _ := utf8.DecodeRuneInString(v[0])
		if kr != vr {
			m[kr] = vr
		}
	}
	// resolve chains so that mapping is idempotent
	for k, v := range m {
		for i := 0; i < 5; i++ {
			if w, ok := m[v]; ok && w != v {
				v = w
			} else {
				break
			}
		}
		m[k] = v
	}
	for k, v := range m {
		if k == v {
			delete(m, k)
		}
		if _, ok := m[v]; ok {
			fmt.Fprintln(os.Stderr, "cycle", string(k), string(v))
			delete(m, k)
		}
	}
	keys := make([]rune, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	w := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(w, "# Traditional → simplified characters, one pair a line, generated from OpenCC's")
	fmt.Fprintln(w, "# dictionary/TSCharacters.txt (Apache License 2.0, https://github.com/BYVoid/OpenCC)")
	fmt.Fprintln(w, "# as packaged in github.com/longbridgeapp/opencc v0.3.13: single characters, the")
	fmt.Fprintln(w, "# first simplified form, chains resolved. Regenerate with faq/internal/gent2s.")
	for _, k := range keys {
		fmt.Fprintf(w, "%c%c\n", k, m[k])
	}
	w.Flush()
}
