"""Every script and every charset: articles in Japanese, Chinese or Thai are counted and
compared by their characters, and Western pages in latin-1 that claim UTF-8 keep their accents."""

from __future__ import annotations

import re
import unicodedata

from pipelines.extract_worker import decode_page
from pipelines.fingerprints import comparable_text, shingles, similarity, word_count
from tests.sites import distinct_words

JAPANESE = [
    "東京都は新しい公共交通計画を発表し、通勤時間を短縮するために多くの路線で運行本数を増やすと説明しました。",
    "計画では、朝の混雑が激しい区間に新しい車両を導入し、駅のホームも広げる予定です。",
    "都の担当者は、利用者の声を聞きながら段階的に進めていきたいと話しています。",
    "専門家の多くはこの計画を前向きに評価しています。",
    "ある大学の教授は、鉄道とバスの乗り継ぎを便利にすることが大切だと指摘しました。",
    "一方で、費用が予想より大きくなるのではないかと心配する声もあります。",
    "沿線の商店街では、駅前の再開発に期待が高まっています。",
    "長年この町で喫茶店を営む女性は、若い人がもっと集まるようになればうれしいと笑顔で語りました。",
    "地元の小学校では、子どもたちが新しい駅の絵を描く授業も行われました。",
    "都は来年の春までに詳しい工事の日程をまとめる方針です。",
    "工事の期間中は一部の列車が運休する可能性があり、早めの情報提供が求められています。",
    "市民団体は、高齢者や車いすの利用者にも配慮した設計にするよう要望書を提出しました。",
    "これに対して都は、すべての駅にエレベーターを設置する考えを示しています。",
    "また、夜間の運行を延長するかどうかについても検討を続けるということです。",
    "計画が実現すれば、郊外から都心までの移動はずいぶん楽になると見られています。",
    "ただし、人口の減少が続くなかで、長い目で見た採算をどう確保するかが課題となります。",
    "都は住民説明会を各地で開き、意見を計画に反映させたいとしています。",
    "最初の説明会は来月、区役所の大会議室で開かれる予定です。",
]
# What a site republishing it rewords: three sentences of eighteen.
JAPANESE_EDITS = {
    4: "ある大学の教授は、鉄道とバスの乗り換えをもっと便利にすることが重要だと述べました。",
    9: "都は来年の夏までに工事の詳しい日程をまとめる方針だということです。",
    17: "最初の説明会は来月半ば、市民会館の大ホールで開かれる見通しです。",
}
CHINESE = [
    "杭州市政府日前公布了新的城市绿化方案，计划在未来几年内新建多座社区公园。",
    "方案提出，要让市民走出家门十五分钟就能到达一处绿地。",
    "有关部门表示，新公园将优先建在老城区和人口密集的街道。",
    "不少居民对此表示欢迎。",
    "住在运河边的一位退休教师说，过去附近只有一条狭窄的步道，傍晚散步的人总是很多。",
    "她希望新公园能多种一些树，夏天也能有地方乘凉。",
    "城市规划专家认为，小型公园比大型广场更能满足日常需要。",
    "他指出，公园的设计应当照顾老人和儿童，并且要和公共交通连接起来。",
    "同时，他也提醒，后期的养护费用不能被忽视。",
    "据了解，首批公园将在明年春天开工。",
    "施工期间，部分道路可能需要临时封闭，交通部门会提前发布绕行提示。",
    "一些商户担心施工会影响生意，希望政府合理安排工期。",
    "对此，市政府承诺将与街道和商户充分沟通，尽量减少对周边的影响。",
    "方案还鼓励居民参与公园的命名和设计，征集活动已经在网上展开。",
    "短短几天内，就有上千名市民提交了自己的建议。",
    "有人提议在公园里设置读书角，也有人希望增加篮球场和健身器材。",
    "市政府表示，将认真研究这些意见，并在正式设计中加以吸收。",
    "按照计划，全部公园将在三年内建成并向公众开放。",
]
CHINESE_EDITS = {
    4: "住在运河边的一位退休教师说，过去附近只有一条狭窄的小路，傍晚散步的人总是很多。",
    9: "据了解，首批公园将于明年春季开工。",
    15: "有人提议在公园里设置阅读角，也有人希望增加篮球场和健身器材。",
}


def cjk_page(lang: str, title: str, sentences: list[str], published: str, site_name: str) -> str:
    """An article page in Chinese or Japanese: three sentences a paragraph, no spaces."""
    body = "\n".join("<p>" + "".join(sentences[i:i + 3]) + "</p>" for i in range(0, len(sentences), 3))
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>
<meta property="og:type" content="article">
<meta property="article:published_time" content="{published}">
</head><body>
<nav><a href="/">{site_name}</a></nav>
<article><h1>{title}</h1>
{body}
</article>
<footer>{site_name}</footer>
</body></html>"""


def reworded(sentences: list[str], edits: dict[int, str]) -> list[str]:
    return [edits.get(i, s) for i, s in enumerate(sentences)]


def ideographs_and_kana(text: str) -> int:
    """Han ideographs, hiragana and katakana in the text, by their Unicode names."""
    return sum(1 for c in text if unicodedata.name(c, "").startswith(
        ("CJK UNIFIED IDEOGRAPH", "HIRAGANA", "KATAKANA")))


def test_japanese_and_chinese_articles_are_stored_with_a_word_per_character(site, newsmill):
    ja = site.add("/ja/koutsuu.html", cjk_page("ja", "東京都が新しい交通計画", JAPANESE,
                                               "2026-11-02T09:00:00+09:00", "東京新聞テスト"))
    zh = site.add("/zh/gongyuan.html", cjk_page("zh-CN", "杭州将新建社区公园", CHINESE,
                                                "2026-11-02T09:00:00+08:00", "测试日报"))

    result = newsmill.crawl(ja, zh)

    assert result.returncode == 0, newsmill.explain(result)
    rows = {r["url"]: r for r in newsmill.rows("select url, text, word_count from articles")}
    assert set(rows) == {ja, zh}, newsmill.explain(result)
    for url, sentences in ((ja, JAPANESE), (zh, CHINESE)):
        text = rows[url]["text"]
        assert all(s in text for s in sentences)
        # One word per ideograph or kana (no digits or Latin letters in these texts).
        assert rows[url]["word_count"] == ideographs_and_kana(text) > 400


def test_reworded_copy_of_a_japanese_or_chinese_article_is_a_near_duplicate(site, newsmill):
    pages = {}
    for lang, title, sentences, edits in (("ja", "東京都が新しい交通計画", JAPANESE, JAPANESE_EDITS),
                                          ("zh", "杭州将新建社区公园", CHINESE, CHINESE_EDITS)):
        original = site.add(f"/{lang}/original.html", cjk_page(
            lang, title, sentences, "2026-11-02T09:00:00+00:00", "Test News"))
        copy = site.add(f"/{lang}/copy.html", cjk_page(
            lang, title, reworded(sentences, edits), "2026-11-03T09:00:00+00:00", "Partner Daily"))
        pages[original], pages[copy] = "canonical", "near_duplicate"

    result = newsmill.crawl(*pages)

    assert result.returncode == 0, newsmill.explain(result)
    assert newsmill.count("articles") == 2
    kinds = {r["url"]: r["kind"] for r in newsmill.rows("select url, kind from article_urls")}
    assert kinds == pages
    similarities = [r["similarity"] for r in newsmill.rows(
        "select similarity from article_urls where kind = 'near_duplicate'")]
    assert all(0.8 <= s < 1 for s in similarities), similarities


def test_character_shingles_keep_different_chinese_texts_apart():
    chinese = "\n".join(CHINESE)
    assert similarity(chinese, "\n".join(JAPANESE)) < 0.05
    half_rewritten = CHINESE[:9] + [s[::-1] for s in CHINESE[9:]]
    assert similarity(chinese, "\n".join(half_rewritten)) < 0.5


def test_text_with_spaces_keeps_its_word_count_and_word_shingles():
    """Stores hold keys of word 3-shingles: text with spaces must keep the same ones, so
    near duplicates of the articles already stored are still found."""
    texts = ["Le café du marché a rouvert ses portes après l'été, à la grande joie des habitués.",
             "Москва стала местом проведения большой международной конференции 2026 года.",
             "서울시는 새로운 대중교통 계획을 발표했습니다. 시민들은 환영했습니다.",
             "snake_case words, 3.5 per cent -- and a dash – here", "one", "",
             *(distinct_words(f"spaced {n}", 40) for n in range(10))]
    for text in texts:
        words = re.findall(r"\w+", comparable_text(text).casefold())
        expected = {" ".join(w) for w in zip(words, words[1:], words[2:])} if len(words) >= 3 \
            else ({" ".join(words)} if words else set())
        assert shingles(text) == expected, text
        assert word_count(text) == len(text.split()), text


def test_thai_is_counted_by_letters_four_to_a_word():
    # รัฐบาล|ไทย|ประกาศ|แผน|พัฒนา|ระบบ|ขนส่ง|สาธารณะ|ใน|กรุงเทพมหานคร: ten words, 50 letters
    # and 4 vowel or tone marks.
    sentence = "รัฐบาลไทยประกาศแผนพัฒนาระบบขนส่งสาธารณะในกรุงเทพมหานคร"
    assert word_count(sentence) == 13
    assert word_count(" ".join([sentence] * 6)) == 78


# Western European pages written in latin-1 (windows-1252) whose server says UTF-8: the
# letters that Central European and Baltic code pages read otherwise (à è ñ ã û...).
WESTERN = {
    "fr": ("Grève au café de la gare", [
        "Le café de la gare était fermé mardi à cause de la grève des employés, à la grande "
        "surprise des habitués.",
        "Dès sept heures, une dizaine de clients attendaient déjà devant la porte, où une "
        "affiche annonçait « fermeture exceptionnelle ».",
        "Le propriétaire, qui a repris l'établissement l'été dernier, espère rouvrir avant la "
        "fin de la semaine.",
        "Les négociations sur les salaires et les horaires d'hiver reprendront jeudi à la mairie."]),
    "de": ("Neue Brücke über die Aare eröffnet", [
        "Die Bürgermeisterin hat am Freitag die neue Fußgängerbrücke über die Aare eröffnet.",
        "Nach vierzehn Monaten Bauzeit können Anwohner den Fluss wieder überqueren, ohne den "
        "Umweg über die Hauptstraße zu nehmen.",
        "Zur Eröffnung spielte eine Blaskapelle, und ein Café am Ufer verteilte Crème brûlée "
        "an die Gäste.",
        "Die Kosten von 4,2 Millionen Franken wurden zu gleichen Teilen von Kanton und "
        "Gemeinde getragen."]),
    "es": ("La biblioteca del barrio abre sus puertas", [
        "El alcalde inauguró el sábado la nueva biblioteca pública del barrio, después de dos "
        "años de obras.",
        "Los niños podrán asistir cada mañana a talleres de lectura, música y dibujo, según "
        "explicó la directora.",
        "La señora Muñoz, vecina desde hace cuarenta años, contó que esperaba este día con "
        "mucha ilusión.",
        "El ayuntamiento asegura que el edificio costó menos de lo previsto y que abrirá "
        "también en agosto."]),
    "pt": ("Ponte do centro reabre em março", [
        "A câmara municipal anunciou que a ponte do centro histórico será reaberta em março, "
        "após as obras de reparação.",
        "Os trabalhos atrasaram por causa das chuvas de inverno, que inundaram as margens do "
        "rio durante várias semanas.",
        "Os comerciantes da região esperam que a circulação volte ao normal e que os turistas "
        "regressem às lojas no verão.",
        "Segundo o vereador, as intervenções custaram três milhões de euros e não haverá "
        "novos aumentos de orçamento."]),
}


def western_page(lang: str, title: str, paragraphs: list[str]) -> str:
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><title>{title}</title>
<meta property="og:type" content="article">
</head><body>
<nav><a href="/">{title.split()[0]}</a></nav>
<article><h1>{title}</h1>
{body}
</article>
</body></html>"""


def test_latin1_pages_served_as_utf8_keep_their_accents(site, newsmill):
    urls = {lang: site.add(f"/{lang}.html", western_page(lang, title, paragraphs).encode("latin-1"),
                           "text/html; charset=utf-8")
            for lang, (title, paragraphs) in WESTERN.items()}

    result = newsmill.crawl("--kind", "article", *urls.values())

    assert result.returncode == 0, newsmill.explain(result)
    rows = {r["url"]: r for r in newsmill.rows("select url, title, text from articles")}
    garbled = {}
    for lang, (title, paragraphs) in WESTERN.items():
        row = rows.get(urls[lang], {"title": None, "text": ""})
        if row["title"] != title or not all(p in row["text"] for p in paragraphs):
            garbled[lang] = f"{row['title']}: {row['text'][:120]}"
    assert garbled == {}


def test_a_czech_page_under_a_template_lang_en_keeps_its_central_european_code_page():
    paragraphs = ["Starostka v pátek otevřela novou lávku přes řeku, po čtrnácti měsících stavby.",
                  "Obyvatelé už nemusí chodit objížďkou přes hlavní ulici, což potěšilo mnoho sousedů.",
                  "Náklady ve výši čtyř milionů korun zaplatil kraj a obec rovným dílem."]
    page = western_page("en", "Nový most přes řeku", paragraphs).encode("cp1250")
    text = decode_page(page, "utf-8")
    assert all(p in text for p in paragraphs)


def double_encoded_page(title: str, author: str, paragraphs: list[str]) -> str:
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta property="og:type" content="article"><meta name="author" content="{author}">
</head><body><article><h1>{title}</h1>
<p class="byline">By {author}</p>
{body}
</article></body></html>"""


MEANT_PARAGRAPHS = [
    "The fund’s managers said the index “held up” through the quarter’s worst week.",
    "Returns of 4–5 % a year are what most savers can count on — before fees of 0.2 %.",
    "“Don’t chase last year’s winners,” the adviser told readers at the café in Zürich.",
]
OTHER_PARAGRAPHS = [
    "The ferry’s new engines arrived on Tuesday, two months after the “last” delay.",
    "Passengers who’d waited since spring were told the crossing restarts in May.",
    "“It’s been a long winter for the island’s shops,” the harbour master said.",
]


def test_pages_whose_utf8_was_read_as_latin1_upstream_are_stored_as_meant(site, newsmill):
    """A whole page garbled upstream (its bytes the UTF-8 of UTF-8 read as latin-1, as a
    browser shows it: "fundâ\\x80\\x99s"), and one that writes the garbled characters as
    entities ("isn&acirc;&euro;&trade;t"): both stored with the text the writer typed."""
    title, author = "An Investor’s Guide to Index Funds", "Zoë Ångström"
    meant = double_encoded_page(title, author, MEANT_PARAGRAPHS)
    garbled = meant.encode("utf-8").decode("latin-1").encode("utf-8")
    other = double_encoded_page("The Ferry’s Return", author, OTHER_PARAGRAPHS)
    entities = other.replace("’", "&acirc;&euro;&trade;").replace("“", "&acirc;&euro;&oelig;")
    urls = [site.add("/garbled.html", garbled, "text/html; charset=utf-8"),
            site.add("/entities.html", entities.encode("utf-8"), "text/html; charset=utf-8")]

    result = newsmill.crawl("--kind", "article", *urls)

    assert result.returncode == 0, newsmill.explain(result)
    rows = {r["url"]: r for r in newsmill.rows("select url, title, author, text from articles")}
    assert rows[urls[0]]["title"] == title and rows[urls[0]]["author"] == author
    assert rows[urls[1]]["title"] == "The Ferry’s Return"
    for url, paragraphs in zip(urls, (MEANT_PARAGRAPHS, OTHER_PARAGRAPHS)):
        assert all(p in rows[url]["text"] for p in paragraphs), rows[url]["text"]
