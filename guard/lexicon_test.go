package guard

import "testing"

func TestLexScan(t *testing.T) {
	tests := []struct {
		text string
		want uint16
	}{
		{"", 0},
		{"房租", 0},
		{"生活费 学费", 0},
		{"转入安全账户配合调查", wSafeAccount},
		{"注销校园贷，不然影响征信", wStudentLoan},
		{"刷单返利第三单", wRebate},
		{"USDT 带单", wInvestment},
		{"兼职工资", wRebate | wWages},
		{"北京大学", wInstitution},
		{"深圳某某科技有限公司", wCompany},
		{"停息挂账服务费", wDebtAgent},
		{"百家乐上分", wGambling},
		{"usd", 0},
		{"\xff\xfe安全账户", wSafeAccount}, // invalid UTF-8 before a word
	}
	for _, tc := range tests {
		if got := lexScan(tc.text); got != tc.want {
			t.Errorf("lexScan(%q) = %b, want %b", tc.text, got, tc.want)
		}
	}
	var m MemoEnv
	setMemo(wWages, &m)
	if m.Any || !m.Wages {
		t.Fatalf("wages must not count as scam vocabulary: %+v", m)
	}
}

func BenchmarkLexScan(b *testing.B) {
	for i := 0; i < b.N; i++ {
		lexScan("给妈妈的生活费和这个月房租")
	}
}
