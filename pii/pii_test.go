package pii

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
	"unsafe"
)

type hit struct {
	t Type
	v string
}

func hits(text string) []hit {
	var hs []hit
	for _, f := range Scan(text) {
		hs = append(hs, hit{f.Type, text[f.Start:f.End]})
	}
	return hs
}

func fmtHits(hs []hit) string {
	var b strings.Builder
	for _, h := range hs {
		fmt.Fprintf(&b, "%s:%q ", h.t, h.v)
	}
	return b.String()
}

func expect(t *testing.T, text string, want ...hit) {
	t.Helper()
	got := hits(text)
	if fmtHits(got) != fmtHits(want) {
		t.Errorf("Scan(%q)\n got: %s\nwant: %s", text, fmtHits(got), fmtHits(want))
	}
}

// Valid test identifiers, computed with the textbook formulas in gen_test.go.
var (
	id18     = idWithCheck("11010519491231002") // 11010519491231002X, the GB 11643 example
	id18b    = idWithCheck("44030519900307123")
	id18bad  = idWrongCheck("44030519900307123")
	card16   = cardWithCheck("622202123456789")
	card19   = cardWithCheck("621700123456789012")
	visa16   = cardWithCheck("436742000012345")
	amex15   = cardWithCheck("37828224631000")
	cardBad  = cardWrongCheck("622202123456789")
	card18   = cardWithCheck("62220212345678901")
	usccA    = usccWithCheck("91350100M000100Y4")
	usccB    = usccWithCheck("91110108MA01ABCD1")
	usccNum  = usccWithCheck("91110108123456789")
	notLuhn9 = cardWithCheck("912345678901234") // Luhn-valid but no issuer starts with 9
)

func TestFixtures(t *testing.T) {
	// Cross-check the independent generators against published examples.
	if id18 != "11010519491231002X" {
		t.Fatalf("idWithCheck example: %s", id18)
	}
	if usccA != "91350100M000100Y43" {
		t.Fatalf("usccWithCheck example: %s", usccA)
	}
	if cardWithCheck("7992739871") != "79927398713" {
		t.Fatalf("Luhn example: %s", cardWithCheck("7992739871"))
	}
	for _, v := range []string{id18bad, cardBad} {
		if len(Scan(v)) != 0 {
			t.Fatalf("fixture %s should be invalid", v)
		}
	}
}

func TestIDCN(t *testing.T) {
	expect(t, "身份证号"+id18+"。", hit{IDCN, id18})
	lower := strings.Replace(id18, "X", "x", 1)
	expect(t, "身份证:"+lower, hit{IDCN, lower})
	expect(t, "证件号码 "+id18b+" 已核实", hit{IDCN, id18b})
	expect(t, "ID"+id18b, hit{IDCN, id18b})
	expect(t, "身份证 "+id18b[:6]+" "+id18b[6:14]+" "+id18b[14:], hit{IDCN, id18b[:6] + " " + id18b[6:14] + " " + id18b[14:]})
	// 15-digit form: region 13, born 1967-04-01.
	expect(t, "老身份证130503670401001", hit{IDCN, "130503670401001"})

	// Negatives.
	expect(t, "身份证号"+id18bad)                                                                      // wrong check digit
	expect(t, "编号1"+id18b)                                                                         // inside a longer digit run
	expect(t, "编号"+cardWrongCheck(id18b))                                                          // inside a longer digit run
	expect(t, "编号"+idWithCheck("99010519491231002"))                                               // no such province
	expect(t, "编号"+idWithCheck("11010518991231002"))                                               // born 1899
	expect(t, "编号"+idWithCheck("11010519490230002"))                                               // 30 February
	expect(t, "编号"+idWithCheck("11010519491300002"))                                               // month 13
	expect(t, "老编号130503671301001")                                                                // 15 digits, month 13
	expect(t, "账号"+strings.Replace(id18, "X", "Y", 1))                                             // not an X
	expect(t, "证件号"+idWithCheck("11010520000229002"), hit{IDCN, idWithCheck("11010520000229002")}) // leap day
	expect(t, "证件号"+idWithCheck("11010519000229002"))                                              // 1900 was not a leap year
}

func TestMobile(t *testing.T) {
	for _, m := range []string{
		"13812345678", "19912345678", "+8613812345678", "+86 13812345678", "+86-13812345678",
		"8613812345678", "86 13812345678", "0086 13812345678", "008613812345678", "0086-138-1234-5678",
		"138 1234 5678", "138-1234-5678", "+86 138 1234 5678",
	} {
		expect(t, "手机"+m+"，谢谢", hit{MobileCN, m})
	}
	expect(t, "Tel:13812345678.", hit{MobileCN, "13812345678"})
	expect(t, "13812345678 13912345678", hit{MobileCN, "13812345678"}, hit{MobileCN, "13912345678"})
	expect(t, "编号 001 13812345678", hit{MobileCN, "13812345678"})
	expect(t, "电话13812345678转1234", hit{MobileCN, "13812345678"})

	// Negatives.
	expect(t, "号码12345678901")       // 12 is not a mobile prefix
	expect(t, "号码10123456789")       // 10 neither
	expect(t, "号码11123456789")       // nor 11
	expect(t, "订单913812345678")      // embedded in a longer digit run
	expect(t, "订单138123456789")      // 12 digits
	expect(t, "code abc13812345678") // glued to letters
	expect(t, "code 13812345678abc") // glued to letters
	expect(t, "金额0.13812345678")     // decimal
	expect(t, "金额13812345678.50")    // decimal
	expect(t, "+1 4155552671")       // foreign number
	expect(t, "+13812345678")        // +1 3812345678, not +86
	expect(t, "138 1234 56789")      // wrong grouping
	expect(t, "2026-13812345678")    // dash-joined to another number
	expect(t, "流水号1381234567813812") // longer run
}

func TestLandline(t *testing.T) {
	for _, l := range []string{
		"010-12345678", "(021)87654321", "（021）87654321", "(0755) 2345678", "0755 2345678",
		"0755-23456789", "021-8765-4321", "02187654321", "075523456789", "400-123-4567",
		"400 1234567", "4001234567", "800-820-8820", "4008-123-456",
	} {
		expect(t, "电话："+l+"。", hit{LandlineCN, l})
	}
	expect(t, "分机010-12345678-123", hit{LandlineCN, "010-12345678"})
	// Negatives.
	expect(t, "电话010-1234567", hit{LandlineCN, "010-1234567"}) // separated: 7 or 8 digits for any area
	expect(t, "编号011-12345678")                                // 011 is not an area code
	expect(t, "电话0755-0345678")                                // subscriber numbers never start with 0
	expect(t, "编号0101234567")                                  // unseparated, only real lengths (3+8, 4+7, 4+8) count
	expect(t, "编号500-123-4567")                                // not a service prefix
}

func TestBankCard(t *testing.T) {
	expect(t, "卡号"+card16, hit{BankCard, card16})
	expect(t, "卡号："+card19+"，", hit{BankCard, card19})
	expect(t, "Visa "+visa16, hit{BankCard, visa16})
	expect(t, "amex "+amex15, hit{BankCard, amex15})
	g := group4(card19, " ")
	expect(t, "卡号 "+g+" 尾号"+card19[15:], hit{BankCard, g})
	g = group4(card16, "-")
	expect(t, "卡号"+g, hit{BankCard, g})
	a := amex15[:4] + " " + amex15[4:10] + " " + amex15[10:]
	expect(t, "卡 "+a, hit{BankCard, a})
	expect(t, "卡号"+card18, hit{BankCard, card18})

	// Negatives.
	expect(t, "卡号"+cardBad)                     // fails Luhn
	expect(t, "卡号"+group4(cardBad, " "))        // fails Luhn, grouped
	expect(t, "单号"+notLuhn9)                    // Luhn-valid, no issuer
	expect(t, "卡号"+group4(cardBad, " ")+" 123") // no valid piece picked out of a failed card
	expect(t, "卡号"+card16[:8]+" "+card16[8:])   // not a card layout
	expect(t, "卡号"+card16[:8]+"-"+card16[8:])   // not a card layout
	mixed := card16[:4] + " " + card16[4:8] + "-" + card16[8:12] + " " + card16[12:]
	expect(t, "卡号"+mixed) // mixed separators
	// An 18-digit valid ID is an ID even if it also passes Luhn.
	both := false
	for p := 10; p < 100 && !both; p++ {
		id := idWithCheck("440305199003071" + fmt.Sprint(p))
		if id[17] != 'X' && luhnSum(id)%10 == 0 {
			expect(t, "号码"+id, hit{IDCN, id})
			both = true
		}
	}
	if !both {
		t.Fatal("no ID that is also Luhn-valid among the candidates")
	}
}

func TestUSCC(t *testing.T) {
	expect(t, "统一社会信用代码："+usccA, hit{USCC, usccA})
	expect(t, "信用代码"+usccB+"。", hit{USCC, usccB})
	expect(t, "代码 "+usccNum, hit{USCC, usccNum})
	// Negatives.
	bad := usccA[:17] + "4"
	expect(t, "代码"+bad)                                // wrong check character
	expect(t, "代码"+strings.ToLower(usccA))             // lower case
	expect(t, "代码"+usccWithCheck("91990100M000100Y4")) // no such region
	expect(t, "代码X"+usccA)                             // inside a longer run
}

func TestPassport(t *testing.T) {
	for _, c := range []hit{
		{Passport, "E12345678"}, {Passport, "G12345678"}, {Passport, "EA1234567"}, {Passport, "P12345678"},
		{HKMacauPermit, "C12345678"}, {HKMacauPermit, "CA1234567"}, {HKMacauPermit, "H12345678"},
		{HKMacauPermit, "M1234567890"}, {HKMacauPermit, "H1234567890"},
	} {
		expect(t, "证件号"+c.v+"，", c)
	}
	expect(t, "passport: E12345678.", hit{Passport, "E12345678"})
	// Negatives.
	expect(t, "证件号e12345678") // lower case
	expect(t, "型号XE12345678") // longer word
	expect(t, "型号E123456789") // too many digits
	expect(t, "型号E1234567")   // too few
	expect(t, "型号F12345678")  // not a passport letter
	expect(t, "型号EI1234567")  // I is never used
	expect(t, "型号H123456789") // 9 digits
	expect(t, "SKU-E12345678-01", hit{Passport, "E12345678"})
}

func TestEmail(t *testing.T) {
	for _, e := range []string{
		"zhang.san@example.com", "12345678@qq.com", "li_na+tag@mail.example.com.cn", "a.b-c@sub-domain.co",
	} {
		expect(t, "邮箱"+e+"，", hit{Email, e})
	}
	expect(t, "mail: wang@163.com.", hit{Email, "wang@163.com"})
	expect(t, "13812345678@139.com", hit{Email, "13812345678@139.com"})
	// Negatives.
	for _, e := range []string{"user@localhost", "@qq.com", "a@b", "a..b@x.com", "x@-bad.com", "x@bad-.com", "x@site.c0m"} {
		expect(t, "邮箱 "+e+" ")
	}
}

func TestIP(t *testing.T) {
	for _, ip := range []string{"192.168.1.10", "10.0.0.1", "255.255.255.255", "2001:db8::8a2e:370:7334", "fe80::1", "::ffff:192.168.1.1", "2001:0db8:0000:0000:0000:ff00:0042:8329"} {
		expect(t, "登录IP "+ip+" 异常", hit{IP, ip})
	}
	expect(t, "来自10.1.2.3:8080。", hit{IP, "10.1.2.3"})
	expect(t, "IP是192.168.1.1，", hit{IP, "192.168.1.1"})
	// Negatives.
	for _, s := range []string{"256.1.1.1", "1.2.3", "1.2.3.4.5", "v1.2.3.4", "1.2.3.4a", "12:30:45", "00:1a:2b:3c:4d:5e", "::1", "dead::beef", "1.2.3.4.", "1:2:3"} {
		if s == "1.2.3.4." {
			expect(t, "地址 "+s, hit{IP, "1.2.3.4"}) // sentence-final dot
			continue
		}
		expect(t, "版本 "+s+" 发布")
	}
}

func TestPlate(t *testing.T) {
	for _, p := range []string{"京A12345", "沪B·A1234", "粤BD12345", "粤B12345D", "苏E·F1234", "京A1234学", "川A 12345"} {
		expect(t, "车牌"+p+"，", hit{PlateCN, p})
	}
	// Negatives.
	for _, p := range []string{"京a12345", "京A1234", "京AI2345", "京A12O45", "京A123456", "京ABCDE1", "京A12345X", "京AB12345"} {
		expect(t, "车牌"+p+"，")
	}
}

func TestName(t *testing.T) {
	cases := []struct {
		text string
		want []hit
	}{
		{"姓名：张三", []hit{{Name, "张三"}}},
		{"姓名: 王小明，电话", []hit{{Name, "王小明"}}},
		{"名字叫李四", []hit{{Name, "李四"}}},
		{"我叫欧阳娜娜，", []hit{{Name, "欧阳娜娜"}}},
		{"我是刘德华，", []hit{{Name, "刘德华"}}},
		{"收款人：陈静", []hit{{Name, "陈静"}}},
		{"户名 诸葛亮", []hit{{Name, "诸葛亮"}}},
		{"联系人赵敏，电话", []hit{{Name, "赵敏"}}},
		{"客户孙丽反映", []hit{{Name, "孙丽"}}},
		{"本人张伟，身份证", []hit{{Name, "张伟"}}},
		{"请转告张三先生", []hit{{Name, "张三"}}},
		{"感谢王小明先生的帮助", []hit{{Name, "王小明"}}},
		{"感谢何明先生", []hit{{Name, "何明"}}},
		{"李娜女士您好", []hit{{Name, "李娜"}}},
		{"请上官婉儿同学", []hit{{Name, "上官婉儿"}}},
		{"刘芳老师说", []hit{{Name, "刘芳"}}},
		{"持卡人:司马光", []hit{{Name, "司马光"}}},
		{"转账给张三 500元", []hit{{Name, "张三"}}},
		// Negatives: no cue, surname only, function words.
		{"张三今天来了", nil},
		{"王先生您好", nil},
		{"感谢王先生", nil},
		{"张老师说", nil},
		{"客户余额不足", nil},
		{"客户于3月5日致电", nil},
		{"客户向银行投诉", nil},
		{"本人申请退款", nil},
		{"我是学生", nil},
		{"我是被骗了", nil},
		{"我是江西人", nil},
		{"客户经理说", nil},
		{"我叫", nil},
		{"姓名：", nil},
		{"我是王的朋友", nil},
	}
	for _, c := range cases {
		expect(t, c.text, c.want...)
	}
}

func TestAddress(t *testing.T) {
	cases := []struct {
		text, addr, masked string
	}{
		{"收货地址：北京市朝阳区建国路88号，", "北京市朝阳区建国路88号", "北京市朝阳区****"},
		{"住在上海市浦东新区世纪大道100号5栋2单元301室。", "上海市浦东新区世纪大道100号5栋2单元301室", "上海市浦东新区****"},
		{"地址广东省深圳市南山区科技园路1号", "广东省深圳市南山区科技园路1号", "广东省深圳市南山区****"},
		{"寄到四川省成都市武侯区人民南路四段12号", "四川省成都市武侯区人民南路四段12号", "四川省成都市武侯区****"},
		{"他老家黑龙江省哈尔滨市南岗区学府路52号", "黑龙江省哈尔滨市南岗区学府路52号", "黑龙江省哈尔滨市南岗区****"},
		{"我住在阳光小区3栋2单元501室", "阳光小区3栋2单元501室", "****"},
		{"地址：建国路88号院", "建国路88号院", "****"},
		{"新疆维吾尔自治区乌鲁木齐市天山区解放南路8号", "新疆维吾尔自治区乌鲁木齐市天山区解放南路8号", "新疆维吾尔自治区乌鲁木齐市天山区****"},
		{"在浙江省杭州市西湖区文三路478号A座12层办公", "浙江省杭州市西湖区文三路478号A座12层", "浙江省杭州市西湖区****"},
		{"家住河北省沛县李庄村", "河北省沛县李庄村", "河北省沛县****"},
		{"老家是江苏省沛县大屯镇安庄村", "江苏省沛县大屯镇安庄村", "江苏省沛县****"},
	}
	for _, c := range cases {
		if c.addr == "" {
			continue
		}
		fs := Scan(c.text)
		if len(fs) != 1 || fs[0].Type != Address || c.text[fs[0].Start:fs[0].End] != c.addr || fs[0].Masked != c.masked {
			t.Errorf("Scan(%q) = %+v, want address %q masked %q", c.text, fs, c.addr, c.masked)
		}
	}
	// Negatives: a single unit, no street-level unit, ordinary words.
	for _, s := range []string{
		"我在北京市朝阳区上班", "我去超市买东西", "超市门口路边", "我知道了", "11月3号到的", "这条街道很热闹",
		"北京市朝阳区", "走这条路", "3号线地铁", "请问市场部在哪", "那个小区", "我们村",
	} {
		for _, f := range Scan(s) {
			if f.Type == Address {
				t.Errorf("Scan(%q): unexpected address %q", s, s[f.Start:f.End])
			}
		}
	}
	// At most 60 characters.
	long := "地址：北京市朝阳区" + strings.Repeat("长", 3) + "路1号" + strings.Repeat("9栋", 40)
	for _, f := range Scan(long) {
		if n := utf8.RuneCountInString(long[f.Start:f.End]); f.Type == Address && n > 60 {
			t.Errorf("address of %d runes", n)
		}
	}
}

func TestLookalikes(t *testing.T) {
	for _, s := range []string{
		"订单号20261127031500",
		"订单号202611270315001234",
		"流水号2026112703150012345678",
		"金额5000.00元",
		"金额￥12,345.67",
		"共计12,345,678.90元",
		"时间2026-11-27 03:15:00",
		"版本1.2.3.4.5，版本v2.10.3",
		"验证码123456",
		"第13812期",
		"已还款3期，剩余9期，每期1,234.56元",
		"订单号：" + id18bad,
		"HTTP 200 OK, 耗时 138ms",
		"2026年11月27日 星期五",
		"价格 ¥1380.00 / $199.99",
		"1 2 3 4 5 6 7 8 9 10 11 12",
		"00:1a:2b:3c:4d:5e",
		"ISBN 978-7-111-12345-6",
		"UUID 123e4567-e89b-12d3-a456-426614174000",
	} {
		if hs := hits(s); len(hs) != 0 {
			t.Errorf("Scan(%q) = %s, want nothing", s, fmtHits(hs))
		}
	}
}

func TestOffsets(t *testing.T) {
	text := "客户张三（手机+86 138-1234-5678）于2026年向ab@c.cn转账，卡号" + card16 + "，IP 10.1.2.3。"
	fs := Scan(text)
	type off struct {
		t            Type
		s, e, rs, re int
		masked       string
	}
	want := []off{
		{Name, 6, 12, 2, 4, "张*"},
		{MobileCN, 21, 38, 7, 24, "+86 138-****-5678"},
		{Email, 54, 61, 32, 39, "a***@c.cn"},
		{BankCard, 76, 92, 44, 60, card16[:6] + "******" + card16[12:]},
		{IP, 98, 106, 64, 72, "10.1.*.*"},
	}
	if len(fs) != len(want) {
		t.Fatalf("Scan(%q) = %+v", text, fs)
	}
	for i, w := range want {
		f := fs[i]
		got := off{f.Type, f.Start, f.End, f.RuneStart, f.RuneEnd, f.Masked}
		if got != w {
			t.Errorf("finding %d = %+v, want %+v (%q)", i, got, w, text[f.Start:f.End])
		}
		if f.RuneStart != utf8.RuneCountInString(text[:f.Start]) || f.RuneEnd != utf8.RuneCountInString(text[:f.End]) {
			t.Errorf("finding %d: rune offsets disagree with the text", i)
		}
		if string([]rune(text)[f.RuneStart:f.RuneEnd]) != text[f.Start:f.End] {
			t.Errorf("finding %d: rune slice mismatch", i)
		}
	}

	// Offsets stay right after invalid UTF-8 and four-byte runes.
	text = "😀\xff\xe4\xb8姓名：王五 \xe4 13812345678"
	fs = Scan(text)
	if len(fs) != 2 {
		t.Fatalf("Scan(%q) = %+v", text, fs)
	}
	for _, f := range fs {
		if f.RuneStart != utf8.RuneCountInString(text[:f.Start]) || f.RuneEnd != utf8.RuneCountInString(text[:f.End]) {
			t.Errorf("%+v: rune offsets disagree with the text", f)
		}
	}
}

func TestRedact(t *testing.T) {
	in := "您好，我是张伟，手机13812345678，身份证" + id18 + "，卡号" + group4(card19, " ") +
		"，邮箱zhangwei@example.com，住在北京市朝阳区建国路88号，车牌京A12345。"
	want := "您好，我是张*，手机138****5678，身份证110105********002X，卡号" +
		group4(card19[:6]+strings.Repeat("*", 9)+card19[15:], " ") +
		"，邮箱z***@example.com，住在北京市朝阳区****，车牌京A****5。"
	got, fs := Redact(in)
	if got != want {
		t.Errorf("Redact:\n got %s\nwant %s", got, want)
	}
	if len(fs) != 7 {
		t.Errorf("got %d findings: %+v", len(fs), fs)
	}
	clean := "客服一直说在处理中，但是没有任何进展，订单号20261127031500，金额￥12,345.67。"
	out, fs := Redact(clean)
	if out != clean || fs != nil {
		t.Errorf("Redact changed clean text: %q %v", out, fs)
	}
	if unsafe.StringData(out) != unsafe.StringData(clean) {
		t.Errorf("Redact copied clean text")
	}
}

func TestNoAllocations(t *testing.T) {
	clean := corpus(7, 64<<10, false)
	if n := testing.AllocsPerRun(20, func() { Redact(clean) }); n != 0 {
		t.Errorf("Redact on clean text: %v allocations", n)
	}
	if n := testing.AllocsPerRun(20, func() { Scan(clean) }); n != 0 {
		t.Errorf("Scan on clean text: %v allocations", n)
	}
}

func TestMaskFunctions(t *testing.T) {
	cases := []struct {
		f    func(string) string
		in   string
		want string
	}{
		{MaskPhone, "13812345678", "138****5678"},
		{MaskPhone, "+8613812345678", "+86138****5678"},
		{MaskPhone, "+86 138 1234 5678", "+86 138 **** 5678"},
		{MaskPhone, "0086-13812345678", "0086-138****5678"},
		{MaskPhone, "138-1234-5678", "138-****-5678"},
		{MaskPhone, "010-12345678", "010-******78"},
		{MaskPhone, "(0755)2345678", "(0755)*****78"},
		{MaskPhone, "400-123-4567", "400-***-**67"},
		{MaskPhone, "12345", "*****"},
		{MaskPhone, "not a phone", "no*******ne"},
		{MaskCard, "card", "****"},
		{MaskIDNumber, "110101199003071234", "110101********1234"},
		{MaskIDNumber, "11010519491231002X", "110105********002X"},
		{MaskIDNumber, "130503670401001", "130503******001"},
		{MaskIDNumber, "1234", "****"},
		{MaskCard, "6222021234567890123", "622202*********0123"},
		{MaskCard, "6222 0212 3456 7890", "6222 02** **** 7890"},
		{MaskCard, "4367421234567890", "436742******7890"},
		{MaskCard, "1234567890", "12****7890"},
		{MaskAccount, "6222021234567890", "622202******7890"},
		{MaskAccount, "1234567890", "12****7890"},
		{MaskAccount, "TERM00123", "TE*****23"},
		{MaskAccount, "123456789", "12*****89"},
		{MaskAccount, "abc12", "*****"},
		{MaskAccount, "", ""},
		{MaskName, "张三", "张*"},
		{MaskName, "王小明", "王**"},
		{MaskName, "欧阳娜娜", "欧阳**"},
		{MaskName, "司马光", "司马*"},
		{MaskName, "张", "*"},
		{MaskName, "John Smith", "J***"},
		{MaskName, "", ""},
		{MaskEmail, "zhangsan@example.com", "z***@example.com"},
		{MaskEmail, "a@qq.com", "***@qq.com"},
		{MaskIP, "10.1.2.3", "10.1.*.*"},
		{MaskIP, "192.168.100.200", "192.168.*.*"},
		{MaskIP, "2001:db8:85a3::8a2e:370:7334", "2001:db8:*:*:*:*:*:*"},
		{MaskIP, "fe80::1", "fe80:0:*:*:*:*:*:*"},
	}
	for _, c := range cases {
		if got := c.f(c.in); got != c.want {
			t.Errorf("mask(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := maskAs(USCC, usccA); got != "91**************43" {
		t.Errorf("uscc mask %q", got)
	}
	if got := maskAs(Passport, "E12345678"); got != "E******78" {
		t.Errorf("passport mask %q", got)
	}
	if got := maskAs(PlateCN, "京A12345"); got != "京A****5" {
		t.Errorf("plate mask %q", got)
	}
	if got := maskAs(PlateCN, "粤B·D12345"); got != "粤B·*****5" {
		t.Errorf("plate mask %q", got)
	}
}

func TestTables(t *testing.T) {
	// A surname that is also a stop character could never start a name
	// after a title look-back; keep the lists disjoint.
	for _, r := range surnames {
		if hanFlag(r)&fNameStop != 0 {
			t.Errorf("surname %c is also a name stop", r)
		}
	}
	if n := utf8.RuneCountInString(surnames); n < 280 {
		t.Errorf("only %d surnames", n)
	}
	seen := map[rune]bool{}
	for _, r := range surnames {
		if seen[r] {
			t.Errorf("duplicate surname %c", r)
		}
		seen[r] = true
	}
	for _, r := range topSurnames {
		if !isSurname(r) {
			t.Errorf("top surname %c missing from the table", r)
		}
	}
	for _, w := range blockedWords {
		if !isSurname([]rune(w)[0]) && hanFlag([]rune(w)[0])&fCompound == 0 {
			// harmless, but it means the entry can never match
			t.Logf("blocked word %s does not start with a surname", w)
		}
	}
}

// Hostile inputs must stay linear: every attempt looks at a bounded window.
func TestPathological(t *testing.T) {
	units := []string{
		"1", "1 ", "1-", "1.", "a.", "a@", "a@a.", "::", "1:", "路", "a路", "1号", "张三先生", "客户张",
		"京A", "+86", "(010)", "8", "X", "a", "\xff", "姓名：", "先生", "ab:", "E1234567", "1.1.1.1.",
		"1234 ", "0755 ", "市", "省市区", "北京市朝阳区", "a-", "a_", "a%",
	}
	// Best of three, so a busy machine does not look like a quadratic.
	best := func(s string) time.Duration {
		d := time.Duration(1<<63 - 1)
		for range 3 {
			t0 := time.Now()
			Scan(s)
			d = min(d, time.Since(t0))
		}
		return d
	}
	for _, u := range units {
		small := strings.Repeat(u, (32<<10)/len(u))
		big := strings.Repeat(u, (256<<10)/len(u))
		d1, d2 := best(small), best(big)
		if testing.Verbose() {
			t.Logf("%-12q %6.1f MB/s", u, float64(len(big))/d2.Seconds()/1e6)
		}
		// 8x the input; a quadratic scanner would take 64x.
		if d2 > 24*d1+100*time.Millisecond {
			t.Errorf("%q: 32KiB in %v, 256KiB in %v", u, d1, d2)
		}
	}
}

// The generated corpus is what the benchmark measures; check that it holds
// what it claims and that everything put in is found, and nothing else.
func TestCorpus(t *testing.T) {
	text, items := corpusN(11, 256<<10, true)
	fs := Scan(text)
	if len(fs) != items {
		t.Errorf("%d items generated, %d found", items, len(fs))
	}
	if per := len(text) / max(len(fs), 1); per < 150 || per > 250 {
		t.Errorf("one finding per %d bytes", per)
	}
	counts := map[Type]int{}
	for _, f := range fs {
		counts[f.Type]++
	}
	for _, typ := range []Type{IDCN, MobileCN, LandlineCN, BankCard, USCC, Email, IP, PlateCN, Name, Address} {
		if counts[typ] == 0 {
			t.Errorf("no %s in the corpus", typ)
		}
	}
	if fs := Scan(corpus(12, 256<<10, false)); len(fs) != 0 {
		t.Errorf("clean corpus: %d findings, first %+v", len(fs), fs[0])
	}
}
