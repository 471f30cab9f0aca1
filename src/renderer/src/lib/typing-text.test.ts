import { describe, expect, it } from 'vitest'
import { typingText } from './typing-text.ts'

describe('typingText', () => {
  it('says nothing when nobody types', () => {
    expect(typingText([])).toBeNull()
  })

  it('names one, two or three people', () => {
    expect(typingText(['Ana'])).toBe('Ana is typing…')
    expect(typingText(['Ana', 'Bo'])).toBe('Ana and Bo are typing…')
    expect(typingText(['Ana', 'Bo', 'Cy'])).toBe('Ana, Bo and Cy are typing…')
  })

  it('counts the rest', () => {
    expect(typingText(['Ana', 'Bo', 'Cy', 'Di'])).toBe('Ana, Bo and 2 others are typing…')
  })
})
