package guard

import (
	"strings"
	"unicode/utf8"
)

// Word flags found in a memo or a payee name.
const (
	wSafeAccount uint16 = 1 << iota
	wPolice
	wStudentLoan
	wRefund
	wRebate
	wInvestment
	wLoanFee
	wCreditRepair
	wGambling
	wDebtAgent
	wWages
	wInstitution
	wCompany

	wScam = wSafeAccount | wPolice | wStudentLoan | wRefund | wRebate | wInvestment |
		wLoanFee | wCreditRepair | wGambling | wDebtAgent
)

// vocabulary: what a scammer tells a victim to write, what victims write
// themselves, and the words that mark a payee as an institution or a
// company. Kept short and specific: ordinary memos (房租, 生活费, 学费) must
// not match.
var vocabulary = []struct {
	flag  uint16
	words []string
}{
	{wSafeAccount, []string{"安全账户", "安全帐户", "资金核查", "资金清查", "清查资金", "配合调查", "国家账户"}},
	{wPolice, []string{"公安", "警官", "通缉", "洗钱", "检察院", "法院传票", "涉案", "逮捕"}},
	{wStudentLoan, []string{"校园贷", "学生账户", "学生帐户", "注销账户", "注销贷款", "注销账号", "影响征信", "关闭账户"}},
	{wRefund, []string{"退款", "理赔", "快递丢失", "双倍赔偿", "赔付", "退货退款"}},
	{wRebate, []string{"刷单", "返利", "佣金", "做任务", "垫付", "点赞", "兼职"}},
	{wInvestment, []string{"投资", "理财", "收益", "带单", "炒币", "usdt", "USDT", "内幕", "稳赚", "导师"}},
	{wLoanFee, []string{"保证金", "解冻", "验资", "刷流水", "手续费", "激活费", "工本费"}},
	{wCreditRepair, []string{"征信修复", "修复征信", "洗白", "消除逾期", "征信洗白", "逾期记录"}},
	{wGambling, []string{"下注", "上分", "彩金", "博彩", "百家乐", "赌", "充值上分", "棋牌"}},
	{wDebtAgent, []string{"停息挂账", "债务优化", "债务重组", "债务规划", "协商还款", "代理维权", "反催收", "征信投诉", "减免利息", "退息", "个性化分期"}},
	{wWages, []string{"工资", "薪", "劳务费", "报酬"}},
	{wInstitution, []string{"大学", "学院", "学校", "中学", "小学", "幼儿园", "医院", "卫生院", "物业", "税务", "社保", "医保", "公积金", "供电", "电力", "水务", "自来水", "燃气", "公安局", "交警"}},
	{wCompany, []string{"有限公司", "有限责任公司", "股份公司", "集团"}},
}

type lexWord struct {
	rest string // the word after its first rune
	flag uint16
}

// byFirstRune indexes the vocabulary by first rune, so a text is scanned
// once, with one small lookup per character, instead of once per word.
var byFirstRune = func() map[rune][]lexWord {
	m := map[rune][]lexWord{}
	for _, v := range vocabulary {
		for _, w := range v.words {
			r, n := utf8.DecodeRuneInString(w)
			m[r] = append(m[r], lexWord{rest: w[n:], flag: v.flag})
		}
	}
	return m
}()

// lexScan returns the flags of every vocabulary word in text.
func lexScan(text string) uint16 {
	var f uint16
	for i := 0; i < len(text); {
		r, n := rune(text[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(text[i:])
		}
		i += n
		for _, w := range byFirstRune[r] {
			if strings.HasPrefix(text[i:], w.rest) {
				f |= w.flag
			}
		}
	}
	return f
}

func setMemo(f uint16, m *MemoEnv) {
	*m = MemoEnv{
		SafeAccount:  f&wSafeAccount != 0,
		Police:       f&wPolice != 0,
		StudentLoan:  f&wStudentLoan != 0,
		Refund:       f&wRefund != 0,
		Rebate:       f&wRebate != 0,
		Investment:   f&wInvestment != 0,
		LoanFee:      f&wLoanFee != 0,
		CreditRepair: f&wCreditRepair != 0,
		Gambling:     f&wGambling != 0,
		DebtAgent:    f&wDebtAgent != 0,
		Wages:        f&wWages != 0,
		Any:          f&wScam != 0,
	}
}
