package pii

import "strings"

// The CJK side of the scanner works off one flag table over the CJK Unified
// Ideographs block, so deciding that an ideograph is uninteresting (nearly
// all of them) is a single load.

const (
	hanLo = 0x4E00
	hanHi = 0xA000
)

const (
	fSurname    uint32 = 1 << iota // common single-character surname
	fTopSurname                    // so common that "X先生" is a surname, not a given name
	fNameStop                      // cannot be part of a given name
	fAddrStop                      // cannot be part of an address component name
	fCue                           // first character of a cue that precedes a name
	fTitle                         // first character of a title that follows a name
	fProvince                      // licence-plate province abbreviation
	fAddrTrig                      // last character of a unit that can open an address
	fUnitStart                     // first character of an address unit
	fNumeral                       // Chinese numeral, allowed in house numbers
	fCompound                      // first character of a compound surname
)

// fTrigger marks the characters the main loop must stop at.
const fTrigger = fCue | fTitle | fProvince | fAddrTrig

// hanTab holds the flags in its low bits and, for cue and title characters,
// an index into wordSets in its top byte.
var hanTab [hanHi - hanLo]uint32

const wordShift = 24

// wordSet lists the cues and the title that begin with one character.
type wordSet struct {
	cues  []string
	title string
}

var wordSets = []wordSet{{}} // index 0 means none

// hotBlock marks the 64-character blocks of the three-byte UTF-8 range
// (indexed by the low bits of the first two bytes) that contain a trigger
// character or the full-width parenthesis.
var hotBlock [16 * 64]bool

func markHot(r rune) { hotBlock[r>>6&0x3FF] = true }

func hanFlag(r rune) uint32 {
	if r >= hanLo && r < hanHi {
		return hanTab[r-hanLo]
	}
	return 0
}

func isHanRune(r rune) bool { return r >= hanLo && r < hanHi }

// The ~300 most common single surnames. Characters that are far more often
// function words or verbs right after a cue (于 向 和 那 都 来 时 由 但 …)
// are left out on purpose: "客户于3月5日" must not yield a name.
const surnames = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝封谈匡鞠惠荆乐冀郁胥南班储栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻厉伊仝郜阚权帅屠豆朴盖练廉禹井祖漆巴丰支卿狄晋扈晁芮阙戈伏鹿薄邸雍辜羊裘亓邰赫杭况逯隆茹诸战慕嵇湛宾戎勾茅揭尉檀衣展阴昝智幸奉衡尧"

// Surnames that are rarely also a given-name character; "感谢王先生" means
// Mr Wang, not a person called 谢王.
const topSurnames = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何罗郑梁谢唐许韩冯邓曹彭曾肖董袁潘蒋蔡杜魏吕沈姚卢崔谭陆汪范廖贾邹熊邱薛闫段侯陶贺顾郝龚邵钱戴孔汤邢庞倪聂翟殷詹耿焦俞"

var compoundSurnames = []string{
	"欧阳", "司马", "诸葛", "上官", "皇甫", "尉迟", "公孙", "慕容", "东方", "令狐", "夏侯",
	"长孙", "宇文", "司徒", "端木", "独孤", "西门", "南宫", "轩辕", "呼延", "百里", "钟离",
	"澹台", "公冶", "太史", "申屠", "司空", "万俟", "闻人", "东郭",
}

// Characters that end a given name: the function words of the brief plus
// verbs and nouns that typically follow a name in a complaint ("张三反映",
// "李四借款", "王五电话").
const nameStops = "的了在是和要说给把被吗呢啊吧我你他她它们这那有没不也都就还" +
	"人于向称反投表来致打电手身卡账地等您已因对从将让叫请问想及与或但去到过着个又再才很讲告诉看用买卖借欠转汇存取办退收发寄送住姓名号年月日时分秒某"

// Two-character words that end a given name where one character alone would
// not ("张三先生", "李四电话").
var nameStopWords = []string{
	"先生", "女士", "小姐", "同学", "老师", "阿姨", "叔叔", "师傅", "经理", "律师", "医生", "警官",
	"总监", "主任", "老板", "大爷", "大妈", "大姐", "姐姐", "哥哥", "妹妹", "弟弟",
	"电话", "手机", "地址", "身份", "卡号", "账号", "银行", "微信", "支付", "号码",
	"今天", "昨天", "明天", "前天", "上午", "下午", "晚上", "一直", "已经", "多次", "目前", "现在",
}

// Common words that begin with a surname character. After a cue they are far
// more likely the word than a person ("客户余额不足", "本人申请退款").
var blockedWords = []string{
	"余额", "付款", "支付", "费用", "钱款", "项目", "程序", "任何", "尚未", "商户", "商家", "商品",
	"包括", "包含", "金额", "解决", "管理", "文件", "车辆", "车牌", "车贷", "司机", "单位", "单号",
	"路上", "明天", "明白", "明确", "全部", "全额", "应该", "应当", "成功", "成为", "安全", "安装",
	"常常", "常年", "关于", "关系", "关注", "方面", "方便", "方式", "万元", "万分", "高兴", "曾经",
	"连续", "何时", "申请", "江苏", "江西", "王者", "周末", "马上", "华为", "房贷", "房子", "房租",
	"房屋", "宁愿", "费率", "苏州", "杭州", "温州", "常州", "柳州", "宁波", "白天", "黄金", "夏天",
	"冷静", "乐意", "景区", "卫生", "师傅", "商量", "解释", "申诉", "查询", "查看", "查到", "武汉",
	"南京", "南宁", "成都", "长沙", "石家", "包头", "平安", "招商", "建设", "农业", "交通", "工商",
	"满意", "权益", "权利", "权限", "成本", "蒙受", "严重", "严格", "郑重", "农民", "农村", "单亲",
	"全职", "高中", "白领", "房东", "车主", "明星", "安徽", "甘肃", "吉林", "宁夏", "郑州", "南昌",
	"兰州", "徐州", "湛江", "桂林", "岳阳", "衡阳", "常德", "唐山", "秦皇", "邢台", "盘锦", "白山",
	"齐齐", "南充", "乐山", "曲靖", "阳光", "金融", "石油", "钱包", "文化", "史上", "毛病", "左右",
}

// Cues after which a name is likely: "姓名：张三", "收款人李四", "我叫王五".
var afterCues = []string{
	"姓名", "名字", "我叫", "我是", "收款人", "付款人", "户名", "开户名", "联系人", "客户",
	"先生", "女士", "本人", "收件人", "持卡人", "借款人", "投诉人", "申请人", "用户",
	"转账给", "转给", "汇款给", "打款给",
}

// Titles before which a name is likely: "张三先生", "李老师" (the latter is
// only a surname and is left alone).
var titles = []string{"先生", "女士", "小姐", "同学", "老师", "阿姨"}

// Licence-plate province abbreviations.
const plateProvinces = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"

// Special last characters of plates: driving-school, police, trailer,
// consular, test, HK/Macau crossing plates.
const plateSpecials = "学警挂领试超港澳使"

// Characters that cannot be part of an address component's name: they mark
// the sentence around the address ("我住在", "寄到", "地址是").
const addrStops = "的了在是吗呢啊吧我你他她它们这那没不也就还住到址寄送往去说给把被要请从于来"

const numerals = "零〇一二三四五六七八九十百千甲乙丙丁"

// Address units.
const (
	uAdmin = iota // province, city, district, county: kept when masking
	uTown         // township, sub-district
	uRoad         // road, street, lane
	uPlace        // village, residential compound, building complex
	uNum          // house number, building, unit, room
)

type unit struct {
	s      string
	class  uint8
	strong bool // a street-level unit: what makes a run of units an address
	min    int  // fewest name characters
	cap    int  // most name characters for the first component
	runes  int
}

var units = []unit{
	{s: "省", class: uAdmin, min: 2, cap: 3},
	{s: "自治区", class: uAdmin, min: 2, cap: 5},
	{s: "市", class: uAdmin, min: 2, cap: 4},
	{s: "自治州", class: uAdmin, min: 2, cap: 8},
	{s: "区", class: uAdmin, min: 2, cap: 4},
	{s: "县", class: uAdmin, min: 1, cap: 4},
	{s: "自治县", class: uAdmin, min: 2, cap: 8},
	{s: "镇", class: uTown, min: 2, cap: 4},
	{s: "乡", class: uTown, min: 2, cap: 4},
	{s: "街道", class: uTown, min: 2, cap: 4, strong: true},
	{s: "路", class: uRoad, min: 1, cap: 6, strong: true},
	{s: "大道", class: uRoad, min: 1, cap: 6, strong: true},
	{s: "大街", class: uRoad, min: 1, cap: 6, strong: true},
	{s: "街", class: uRoad, min: 1, cap: 6, strong: true},
	{s: "道", class: uRoad, min: 1, cap: 6, strong: true},
	{s: "巷", class: uRoad, min: 1, cap: 6, strong: true},
	{s: "弄", class: uRoad, min: 1, cap: 6, strong: true},
	{s: "胡同", class: uRoad, min: 1, cap: 6, strong: true},
	{s: "村", class: uPlace, min: 1, cap: 4, strong: true},
	{s: "新村", class: uPlace, min: 1, cap: 6, strong: true},
	{s: "小区", class: uPlace, min: 2, cap: 6, strong: true},
	{s: "社区", class: uPlace, min: 2, cap: 6},
	{s: "花园", class: uPlace, min: 2, cap: 6},
	{s: "大厦", class: uPlace, min: 2, cap: 6},
	{s: "公寓", class: uPlace, min: 2, cap: 6},
	{s: "家园", class: uPlace, min: 2, cap: 6},
	{s: "广场", class: uPlace, min: 2, cap: 6},
	{s: "园区", class: uPlace, min: 2, cap: 6},
	{s: "号院", class: uNum, strong: true},
	{s: "号楼", class: uNum, strong: true},
	{s: "号", class: uNum, strong: true},
	{s: "段", class: uNum}, // road section: 人民南路四段
	{s: "栋", class: uNum},
	{s: "幢", class: uNum},
	{s: "座", class: uNum},
	{s: "单元", class: uNum},
	{s: "室", class: uNum},
	{s: "楼", class: uNum},
	{s: "层", class: uNum},
}

// Province-level names, used to find where an address really starts when
// nothing separates it from the words before ("他老家黑龙江省…").
var provinceNames = []string{
	"北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽",
	"福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西",
	"甘肃", "青海", "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆", "广西壮族", "宁夏回族", "新疆维吾尔",
}

var (
	unitsByFirst   map[rune][]*unit
	compoundSet    map[string]bool
	blockedSet     map[string]bool
	stopWordsFirst map[rune][]string
)

func init() {
	set := func(chars string, f uint32) {
		for _, r := range chars {
			if isHanRune(r) {
				hanTab[r-hanLo] |= f
			}
		}
	}
	set(surnames, fSurname)
	set(topSurnames, fTopSurname)
	set(nameStops, fNameStop)
	set(addrStops, fAddrStop)
	set(plateProvinces, fProvince)
	set(numerals, fNumeral)
	words := func(w string) *wordSet {
		r := []rune(w)[0]
		idx := hanTab[r-hanLo] >> wordShift
		if idx == 0 {
			idx = uint32(len(wordSets))
			wordSets = append(wordSets, wordSet{})
			hanTab[r-hanLo] |= idx << wordShift
		}
		return &wordSets[idx]
	}
	for _, c := range afterCues {
		set(firstRune(c), fCue)
		ws := words(c)
		ws.cues = append(ws.cues, c)
	}
	for _, t := range titles {
		set(firstRune(t), fTitle)
		words(t).title = t
	}
	compoundSet = make(map[string]bool, len(compoundSurnames))
	for _, c := range compoundSurnames {
		compoundSet[c] = true
		set(firstRune(c), fCompound)
	}
	blockedSet = make(map[string]bool, len(blockedWords))
	for _, w := range blockedWords {
		blockedSet[w] = true
	}
	stopWordsFirst = make(map[rune][]string)
	for _, w := range nameStopWords {
		r := []rune(w)[0]
		stopWordsFirst[r] = append(stopWordsFirst[r], w)
	}
	unitsByFirst = make(map[rune][]*unit)
	for i := range units {
		u := &units[i]
		rs := []rune(u.s)
		u.runes = len(rs)
		if u.cap == 0 {
			u.cap = 6
		}
		set(string(rs[0]), fUnitStart)
		unitsByFirst[rs[0]] = append(unitsByFirst[rs[0]], u)
		switch u.class {
		case uAdmin, uTown, uRoad:
			set(string(rs[len(rs)-1]), fAddrTrig)
		case uPlace:
			if u.strong {
				set(string(rs[len(rs)-1]), fAddrTrig)
			}
		}
	}
	for r := rune(hanLo); r < hanHi; r++ {
		if hanTab[r-hanLo]&fTrigger != 0 {
			markHot(r)
		}
	}
	markHot('（')
	// Longest unit first, so 号楼 wins over 号 and 大街 over 街.
	for _, us := range unitsByFirst {
		for i := 1; i < len(us); i++ {
			for j := i; j > 0 && len(us[j].s) > len(us[j-1].s); j-- {
				us[j], us[j-1] = us[j-1], us[j]
			}
		}
	}
}

func firstRune(s string) string {
	for _, r := range s {
		return string(r)
	}
	return ""
}

func isSurname(r rune) bool { return hanFlag(r)&fSurname != 0 }

func isCompound(a, b rune) bool {
	if hanFlag(a)&fCompound == 0 {
		return false
	}
	var buf [8]byte
	n := encodeHan(buf[:], a)
	n += encodeHan(buf[n:], b)
	return compoundSet[string(buf[:n])]
}

// encodeHan writes a BMP rune as three UTF-8 bytes.
func encodeHan(b []byte, r rune) int {
	b[0] = byte(0xE0 | r>>12)
	b[1] = byte(0x80 | (r>>6)&0x3F)
	b[2] = byte(0x80 | r&0x3F)
	return 3
}

func hasBlockedPrefix(s string) bool {
	return len(s) >= 6 && blockedSet[s[:6]]
}

func startsStopWord(s string, r rune) bool {
	for _, w := range stopWordsFirst[r] {
		if strings.HasPrefix(s, w) {
			return true
		}
	}
	return false
}
